package components

// GuardRail is a caveat on what a number means, shown as a marker beside
// the number it qualifies (its text in the tooltip). Servers differ in what
// their metrics measure; a user comparing two rows must see it where the
// number is, not in a manual.
type GuardRail struct {
	Server string // server kind the caveat applies to; "" for every kind.
	Field  string // the number it qualifies: ttft, itl, server (metric names), bucket.
	Text   string
}

// Guard-rail fields.
const (
	GuardTTFT   = "ttft"
	GuardITL    = "itl"
	GuardServer = "server" // which metric names a server kind is read from.
	GuardBucket = "bucket" // a percentile beyond the last finite bucket.
)

// guardRails is the one table of metric-meaning caveats (rules/defaults/
// token_path.rules.yml.tmpl says which metrics each kind is read from).
var guardRails = []GuardRail{
	{Server: "vllm", Field: GuardITL, Text: "vLLM's inter-token latency counts output events, not tokens: " +
		"under speculative decoding one event carries several tokens, so the time per token is lower than this."},
	{Server: "vllm", Field: GuardServer, Text: "vLLM V1 names are read (vllm:inter_token_latency_seconds); " +
		"a V0 server's vllm:time_per_output_token_seconds is read as ITL instead when the V1 name is absent."},
	{Server: "tgi", Field: GuardTTFT, Text: "TGI has no time-to-first-token metric: this is queue + prefill, " +
		"an estimate that leaves out tokenization and the first decode step."},
	{Server: "tgi", Field: GuardITL, Text: "TGI reports the mean time per output token (TPOT), prefill included, " +
		"not the gap between two tokens."},
	{Server: "sglang", Field: GuardITL, Text: "ITL is read from sglang:inter_token_latency_seconds; an older SGLang " +
		"exposes only sglang:time_per_output_token_seconds, which is not mapped to ITL (no ITL is shown for it)."},
	{Server: "sglang", Field: GuardServer, Text: "SGLang's metric names changed between releases: older servers " +
		"have sglang:time_per_output_token_seconds instead of sglang:inter_token_latency_seconds."},
	{Server: "llamacpp", Field: GuardITL, Text: "llama.cpp has no latency histograms: ITL is its mean generation " +
		"time per token over the last minute, not a percentile."},
	{Field: GuardBucket, Text: "≥: the percentile lies in the histogram's last bucket; Prometheus reports the " +
		"bucket's bound, and the real value is at least that."},
}

// GuardRailFor returns the caveat of a server kind's field, "" when none.
func GuardRailFor(server, field string) string {
	for _, g := range guardRails {
		if g.Field == field && (g.Server == "" || g.Server == server) {
			return g.Text
		}
	}
	return ""
}

// GuardRails returns a copy of the table, for the README and tests.
func GuardRails() []GuardRail { return append([]GuardRail(nil), guardRails...) }
