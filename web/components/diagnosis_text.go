package components

// diagnosisExplanations say in one line what each cause of
// tokenpath:diagnosis means (rules/README.md, "Diagnosis", has the exact
// conditions; the README's section per cause says what to do).
var diagnosisExplanations = map[string]string{
	"queue_saturation":       "TTFT is mostly queue time and waiting requests grow: more replicas or a lower admission rate.",
	"kv_cache_pressure":      "KV cache near full with preemptions, queue time rising with it: smaller max_num_seqs, more memory, prefix caching.",
	"prefill_interference":   "ITL spikes with bursts of prompt tokens: long prompts stall decode (chunked-prefill settings).",
	"memory_bandwidth_bound": "Decode-heavy batch with DRAM bandwidth near saturation and SM activity low.",
	"compute_bound":          "SM activity saturated by prefill-heavy work.",
	"front_of_engine":        "The probe waits well beyond the server's own TTFT: proxy, accept queue, tokenizer or network.",
	"engine_restart":         "The server restarted: cold start, model loading, empty prefix cache.",
	"unexplained":            "The tail is above its objective and no known cause explains it.",
	"none":                   "Within objectives.",
}

// DiagnosisExplanation is the one-line meaning of a cause, "" for a cause
// this UI does not know (a newer rule set).
func DiagnosisExplanation(cause string) string { return diagnosisExplanations[cause] }
