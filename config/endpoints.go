package config

import (
	"fmt"
	"strings"

	"github.com/ritwikareddykancharla/token-path-observability/scrape/probe"
)

// EndpointKind is an inference server kind that a flag and an environment
// variable can point tokenpath at: its endpoints are scraped under the job of
// the kind's name and probed.
type EndpointKind struct {
	// Job is the scrape job and the probe's server kind.
	Job string
	// Env is the environment variable (comma-separated URLs).
	Env string
	// Flag is the repeatable flag, without its dashes.
	Flag string
}

// EndpointKinds are the kinds in the order their jobs are added. vLLM and
// TGI have defaults (Sources.DefaultEndpoints); SGLang and llama.cpp do not.
var EndpointKinds = []EndpointKind{
	{Job: "vllm", Env: "VLLM_ENDPOINT", Flag: "vllm.endpoint"},
	{Job: "tgi", Env: "TGI_ENDPOINT", Flag: "tgi.endpoint"},
	{Job: "sglang", Env: "SGLANG_ENDPOINT", Flag: "sglang.endpoint"},
	{Job: "llamacpp", Env: "LLAMACPP_ENDPOINT", Flag: "llamacpp.endpoint"},
}

// endpointSetting is where one kind's endpoints came from.
type endpointSetting struct {
	kind      EndpointKind
	endpoints []string
	// set is true when a flag or the environment set them, even to nothing:
	// then they replace the file's job of the same name, and an empty value
	// turns the kind off.
	set bool
	// source names the flag or variable for error messages.
	source string
}

// resolveEndpoints applies the precedence flag > environment > defaults to
// every kind. A flag given only empty values (--tgi.endpoint=) and a
// variable set to the empty string (TGI_ENDPOINT=) both mean "none".
func (src Sources) resolveEndpoints() []endpointSetting {
	out := make([]endpointSetting, 0, len(EndpointKinds))
	for _, k := range EndpointKinds {
		s := endpointSetting{kind: k}
		if flag, ok := src.EndpointFlags[k.Job]; ok && flag != nil {
			s.endpoints, s.set, s.source = splitEndpoints(flag...), true, "--"+k.Flag
		} else if v, ok := src.lookupEnv(k.Env); ok {
			s.endpoints, s.set, s.source = splitEndpoints(v), true, k.Env
		} else {
			s.endpoints, s.source = src.DefaultEndpoints[k.Job], "the default "+k.Job+" endpoint"
		}
		out = append(out, s)
	}
	return out
}

// splitEndpoints splits comma-separated values and drops empty ones.
func splitEndpoints(values ...string) []string {
	var out []string
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// Endpoints resolves the endpoint flags and variables the way Load
// does, for the default probes: job → endpoints. With a configuration file
// only the kinds a flag or variable set are listed.
func (src Sources) Endpoints() map[string][]string {
	out := map[string][]string{}
	for _, s := range src.resolveEndpoints() {
		if src.ConfigFile != "" && !s.set {
			continue
		}
		if len(s.endpoints) > 0 {
			out[s.kind.Job] = s.endpoints
		}
	}
	return out
}

// endpointJob writes a scrape config for the endpoints of one kind.
func endpointJob(job string, endpoints []string) (string, error) {
	if len(endpoints) == 0 {
		return "", nil
	}
	byScheme := map[string][]string{}
	var schemes []string
	for _, e := range endpoints {
		u, err := probe.ParseEndpoint(e)
		if err != nil {
			return "", err
		}
		if _, ok := byScheme[u.Scheme]; !ok {
			schemes = append(schemes, u.Scheme)
		}
		byScheme[u.Scheme] = append(byScheme[u.Scheme], u.Host)
	}
	var b strings.Builder
	for i, s := range schemes {
		name := job
		if i > 0 {
			// One job has one scheme: the second scheme gets a job of its own.
			name = job + "-" + s
		}
		fmt.Fprintf(&b, "- job_name: %q\n  scheme: %s\n  static_configs:\n  - targets:\n", name, s)
		for _, h := range byScheme[s] {
			fmt.Fprintf(&b, "    - %q\n", h)
		}
	}
	return b.String(), nil
}
