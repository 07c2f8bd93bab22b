package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/alecthomas/kingpin/v2"
)

// serveHelp is the server's help text: serve is the default command, so
// `tokenpath --help` shows it (see helpArgs), with the environment variables
// it reads and the other commands.
const serveHelp = `Run the tokenpath server. This is the default command: "tokenpath [<flags>]" is "tokenpath serve [<flags>]".

Environment variables (flags win over them; they win over --config.file):
  VLLM_ENDPOINT      vLLM servers to scrape and probe, comma-separated (default http://localhost:8000 without --config.file; empty: none)
  TGI_ENDPOINT       TGI servers (default http://localhost:8080 without --config.file; empty: none)
  SGLANG_ENDPOINT    SGLang servers (no default)
  LLAMACPP_ENDPOINT  llama.cpp servers (no default)
  PROMETHEUS_PORT    port of the UI and API when --web.listen-address is not given (default 9090)
  SCRAPE_INTERVAL    default scrape interval (default 15s)
  GRAFANA_PORT       when set, the UI and API are served on this port too

Other commands (tokenpath help COMMAND): check config, check rules, rules export, export gpu, simulate, grafana export.`

// helpArgs turns a bare `tokenpath --help` (or -h, or help) into the help of
// the default command, whose flags a user is looking for; kingpin would
// otherwise list only the global flags.
func helpArgs(args []string) []string {
	if len(args) == 1 && slices.Contains([]string{"--help", "-h", "help"}, args[0]) {
		return []string{"help", "serve"}
	}
	return args
}

// didYouMean adds the closest flag name to kingpin's "unknown long flag"
// error, so a typo names its fix.
func didYouMean(app *kingpin.Application, err error) error {
	const marker = "unknown long flag '--"
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		return err
	}
	typed, _, _ := strings.Cut(msg[i+len(marker):], "'")
	typed, _, _ = strings.Cut(typed, "=")
	var names []string
	for _, f := range app.Model().Flags {
		names = append(names, f.Name)
	}
	for _, c := range app.Model().Commands {
		for _, f := range c.Flags {
			names = append(names, f.Name)
		}
		for _, sub := range c.Commands {
			for _, f := range sub.Flags {
				names = append(names, f.Name)
			}
		}
	}
	best, bestDist := "", len(typed)/3+2 // farther than that is no typo
	for _, n := range names {
		if d := editDistance(typed, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" {
		return err
	}
	return fmt.Errorf("%w; did you mean --%s?", err, best)
}

// editDistance is the Levenshtein distance between a and b (bytes: flag
// names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
