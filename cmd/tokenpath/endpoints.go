package main

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/ritwikareddykancharla/token-path-observability/config"
)

// defaultEndpoints are the inference servers watched when nothing else is
// configured (no file, no flag, no variable): the usual ports of vLLM and
// TGI. SGLang and llama.cpp have none.
var defaultEndpoints = map[string][]string{
	"vllm": {"http://localhost:8000"},
	"tgi":  {"http://localhost:8080"},
}

// endpointHelp names each kind's server for the flag's help.
var endpointHelp = map[string]string{"vllm": "vLLM", "tgi": "TGI", "sglang": "SGLang", "llamacpp": "llama.cpp"}

// registerEndpointFlags adds --vllm.endpoint, --tgi.endpoint,
// --sglang.endpoint and --llamacpp.endpoint, one per config.EndpointKinds.
func registerEndpointFlags(cmd *kingpin.CmdClause) map[string]*[]string {
	out := map[string]*[]string{}
	for _, k := range config.EndpointKinds {
		def := "No default."
		if d := defaultEndpoints[k.Job]; len(d) > 0 {
			def = "Default (only without --config.file): " + strings.Join(d, ",") + "."
		}
		help := fmt.Sprintf("%s server to scrape (job %s) and probe (repeatable); overrides %s. %s An empty value (--%s=) turns it off.",
			endpointHelp[k.Job], k.Job, k.Env, def, k.Flag)
		v := new([]string)
		cmd.Flag(k.Flag, help).PlaceHolder("URL").StringsVar(v)
		out[k.Job] = v
	}
	return out
}

// endpointFlagValues is what the endpoint flags were given: a flag not given
// is left out, so the environment and the defaults apply.
func endpointFlagValues(flags map[string]*[]string) map[string][]string {
	out := map[string][]string{}
	for job, v := range flags {
		if v != nil && *v != nil {
			out[job] = *v
		}
	}
	return out
}
