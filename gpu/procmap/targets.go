package procmap

import (
	"net"

	"github.com/prometheus/prometheus/model/labels"
	promscrape "github.com/prometheus/prometheus/scrape"

	"github.com/ritwikareddykancharla/token-path-observability/scrape"
)

// inferenceKinds are the server label values of inference servers; "other" targets
// (tokenpath itself, exporters) are not mapped.
var inferenceKinds = map[string]bool{
	scrape.ServerVLLM: true, scrape.ServerTGI: true, scrape.ServerSGLang: true, scrape.ServerLlamaCPP: true,
}

// ActiveTargets returns a Targets function over the scrape manager's active targets whose
// server label names an inference server.
func ActiveTargets(m *promscrape.Manager) func() []Target {
	return func() []Target {
		var out []Target
		b := labels.NewBuilder(labels.EmptyLabels())
		for _, ts := range m.TargetsActive() {
			for _, t := range ts {
				ls := t.Labels(b)
				if !inferenceKinds[ls.Get(scrape.ServerLabel)] {
					continue
				}
				u := t.URL()
				port := u.Port()
				if port == "" {
					port = "80"
					if u.Scheme == "https" {
						port = "443"
					}
				}
				out = append(out, Target{
					Job: ls.Get("job"), Instance: ls.Get("instance"),
					Address: net.JoinHostPort(u.Hostname(), port),
				})
			}
		}
		return out
	}
}
