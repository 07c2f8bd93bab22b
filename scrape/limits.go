package scrape

import (
	"github.com/alecthomas/units"
	promconfig "github.com/prometheus/prometheus/config"
)

// Default scrape limits: a target that exceeds one is down for that scrape,
// with Prometheus' own error naming the limit, and none of its samples are
// stored. Prometheus ships these unlimited; tokenpath runs unattended next to
// servers it does not control, so a gzip bomb, an endless body or a label
// made of a megabyte must not take the host down. Each fits an inference
// server with a wide margin: vLLM's exposition is ~200 KB and ~2,000 samples
// per model, its label values (model paths) are well under 1 KB.
const (
	// DefaultBodySizeLimit bounds the body after decompression (Prometheus
	// limits the gzip reader, not the wire bytes).
	DefaultBodySizeLimit = 32 * units.MiB
	// DefaultSampleLimit bounds the samples of one scrape, after relabelling.
	DefaultSampleLimit = 50000
	// DefaultLabelLimit bounds the labels of one series, target labels included.
	DefaultLabelLimit = 64
	// DefaultLabelNameLengthLimit bounds a label name, in bytes.
	DefaultLabelNameLengthLimit = 256
	// DefaultLabelValueLengthLimit bounds a label value, in bytes.
	DefaultLabelValueLengthLimit = 4096
)

// withDefaultLimits returns the scrape configs with every limit that is 0
// (unset in the job and in global) set to tokenpath's default. Prometheus'
// loader has already copied global limits into each job, so a limit set in
// either place wins; the configs are copied, not changed, so that
// /api/v1/status/config still shows the file as written.
func withDefaultLimits(scfgs []*promconfig.ScrapeConfig) []*promconfig.ScrapeConfig {
	out := make([]*promconfig.ScrapeConfig, len(scfgs))
	for i, sc := range scfgs {
		c := *sc
		if c.BodySizeLimit == 0 {
			c.BodySizeLimit = DefaultBodySizeLimit
		}
		if c.SampleLimit == 0 {
			c.SampleLimit = DefaultSampleLimit
		}
		if c.LabelLimit == 0 {
			c.LabelLimit = DefaultLabelLimit
		}
		if c.LabelNameLengthLimit == 0 {
			c.LabelNameLengthLimit = DefaultLabelNameLengthLimit
		}
		if c.LabelValueLengthLimit == 0 {
			c.LabelValueLengthLimit = DefaultLabelValueLengthLimit
		}
		out[i] = &c
	}
	return out
}
