package panels

// The distribution panels shown both on the token-path overview and in the
// latency breakdown: one definition each, so the two pages cannot drift.

func itlHeatmapPanel() Panel {
	return Panel{
		ID:          "itl_heatmap",
		Title:       "Inter-token latency distribution",
		Description: "Observations per second in each inter-token-latency bucket, for one server kind at a time (vLLM, else SGLang, else TGI; select a model to choose). TGI reports mean time per token (prefill included) rather than true inter-token latency.",
		Unit:        "s",
		Kind:        KindHeatmap,
		Queries:     heatmap("itl"),
	}
}

func e2eHeatmapPanel() Panel {
	return Panel{
		ID:          "e2e_heatmap",
		Title:       "Request latency distribution",
		Description: "Finished requests per second in each end-to-end latency bucket, for one server kind at a time (vLLM, else SGLang, else TGI; select a model to choose).",
		Unit:        "s",
		Kind:        KindHeatmap,
		Queries:     heatmap("e2e"),
	}
}
