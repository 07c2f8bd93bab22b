package slo

import (
	"slices"
	"strings"
)

// ProbeKind is the key of BucketWarnings for the probes' own buckets.
const ProbeKind = "probe"

// BucketWarnings returns the warnings RuleFilesWithOptions gives for
// thresholds that are not bucket boundaries, grouped by what they concern:
// ProbeKind for the probes' own histograms, else the server kind (vllm,
// sglang, …) whose histogram lacks the boundary. A caller can then speak
// only of the servers it really scrapes, instead of warning about an SGLang
// histogram on a machine that runs only vLLM.
func BucketWarnings(objs []Objective, serverBuckets map[string][]float64, o Options) (map[string][]string, error) {
	buckets := DefaultServerBuckets()
	for k, v := range serverBuckets {
		buckets[k] = v
	}
	var kinds []string
	for k := range buckets {
		server, _, _ := strings.Cut(k, ":")
		if !slices.Contains(kinds, server) {
			kinds = append(kinds, server)
		}
	}
	slices.Sort(kinds)
	// only keeps one server's buckets: an empty list leaves a server out of
	// the rules, and so out of the warnings.
	only := func(kind string) map[string][]float64 {
		out := make(map[string][]float64, len(buckets))
		for k, v := range buckets {
			if server, _, _ := strings.Cut(k, ":"); server == kind {
				out[k] = v
			} else {
				out[k] = []float64{}
			}
		}
		return out
	}
	_, probeWarnings, err := RuleFilesWithOptions(objs, only(""), o)
	if err != nil {
		return nil, err
	}
	byKind := map[string][]string{}
	if len(probeWarnings) > 0 {
		byKind[ProbeKind] = probeWarnings
	}
	for _, kind := range kinds {
		_, ws, err := RuleFilesWithOptions(objs, only(kind), o)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			if !slices.Contains(probeWarnings, w) {
				byKind[kind] = append(byKind[kind], w)
			}
		}
	}
	return byKind, nil
}
