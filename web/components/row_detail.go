package components

import (
	"math"
	"strconv"
	"strings"
)

// RowDetail is what a token-path row shows beside its percentiles: the
// request lifecycle, KV-cache headroom, energy, and the GPUs that serve it.
// Handlers fill it from the tokenpath:lifecycle*, kv_cache_knee/headroom,
// energy and inference_target_gpu series (rules/README.md).
type RowDetail struct {
	// Lifecycle is the mean time of each phase, in LifecyclePhases order.
	Lifecycle [4]Value
	// Consistency is e2e over the sum of its phases; Inconsistent is set
	// when tokenpath:lifecycle_inconsistent says they do not add up.
	Consistency  Value
	Inconsistent bool

	// KVKnee is the KV-cache usage (0–1) where the tail starts to climb;
	// KVHeadroom is how far usage is below it now.
	KVKnee, KVHeadroom Value

	// JoulesPerToken and TokensPerJoule (= tokens/s per W); EnergyOfHost
	// says the figures are the host's, the row's GPUs not being known.
	JoulesPerToken, TokensPerJoule Value
	EnergyOfHost                   bool

	// GPUMapping is the state of the GPU mapping (mapped, remote,
	// no_gpu_process, unknown; "" when nothing reports it).
	GPUMapping string
	// GPUs are the row's GPUs when mapped, else its host's; GPUsOfHost says which.
	GPUs       []RowGPU
	GPUsOfHost bool

	// LastBucket is the upper bound of the last finite bucket of the
	// ttft, itl and e2e histograms, to tell a percentile from a bound.
	LastBucket map[string]float64
}

// RowGPU is the summary of one GPU on a token-path row.
type RowGPU struct {
	Index, UUID string
	State       string // idle, balanced, compute_bound, memory_bound; "" unknown.
	VRAMUsed    Value
	VRAMTotal   Value
	SM          Value // percent.
	Power       Value // watts.
}

// LifecyclePhase names a phase of a request and labels it on the page.
type LifecyclePhase struct{ Phase, Label string }

// LifecyclePhases are the phases of tokenpath:lifecycle:seconds, in the
// order a request goes through them.
var LifecyclePhases = [4]LifecyclePhase{
	{"front", "front of engine"}, {"queue", "queue"}, {"prefill", "prefill"}, {"decode", "decode"},
}

// WaterfallBar is one phase of the lifecycle waterfall: it starts where the
// previous phase ended. Offset and Width are percent of the table's scale.
type WaterfallBar struct {
	LifecyclePhase
	Seconds       Value
	Offset, Width float64
}

// HasLifecycle reports whether any phase has a value.
func (d RowDetail) HasLifecycle() bool {
	for _, v := range d.Lifecycle {
		if v.OK {
			return true
		}
	}
	return false
}

// lifecycleTotal is the sum of the known phases.
func (d RowDetail) lifecycleTotal() float64 {
	s := 0.0
	for _, v := range d.Lifecycle {
		if v.OK && v.V > 0 {
			s += v.V
		}
	}
	return s
}

// WaterfallScale is the longest lifecycle among rows, so that the
// waterfalls of different rows compare.
func WaterfallScale(rows []ServerRow) float64 {
	m := 0.0
	for _, r := range rows {
		m = math.Max(m, r.Detail.lifecycleTotal())
	}
	return m
}

// Waterfall lays the phases out end to end on a scale (seconds = 100 %).
func (d RowDetail) Waterfall(scale float64) []WaterfallBar {
	out := make([]WaterfallBar, 0, len(d.Lifecycle))
	at := 0.0
	for i, v := range d.Lifecycle {
		b := WaterfallBar{LifecyclePhase: LifecyclePhases[i], Seconds: v}
		if scale > 0 && v.OK && v.V > 0 {
			b.Offset = math.Min(100, at/scale*100)
			b.Width = math.Min(100-b.Offset, v.V/scale*100)
			at += v.V
		} else if scale > 0 {
			b.Offset = math.Min(100, at/scale*100)
		}
		out = append(out, b)
	}
	return out
}

// ConsistencyText says how far e2e is from the sum of its phases.
func (d RowDetail) ConsistencyText() string {
	if !d.Consistency.OK {
		return "queue + prefill + decode does not add up to e2e"
	}
	return "e2e is " + FormatRatio(d.Consistency) + " of queue + prefill + decode"
}

// KVText is "KV 88%, knee ≈ 92%", or the part that is known.
func KVText(usage, knee Value) string {
	var parts []string
	if usage.OK {
		parts = append(parts, "KV "+FormatRatio(usage))
	}
	if knee.OK {
		parts = append(parts, "knee ≈ "+FormatRatio(knee))
	}
	return strings.Join(parts, ", ")
}

// KVHeadroomLow is the headroom (0–1) under which the row is marked: the
// tail is about to climb.
const KVHeadroomLow = 0.05

// FormatJoules writes energy per token ("0.42 J/token", "85 mJ/token").
func FormatJoules(v Value) string {
	if !v.OK {
		return "—"
	}
	if math.Abs(v.V) < 1 && v.V != 0 {
		return trimFloat(v.V*1e3, 3) + " mJ/token"
	}
	return trimFloat(v.V, 3) + " J/token"
}

// FormatTokensPerWatt writes tokens per joule as tokens/s per W.
func FormatTokensPerWatt(v Value) string {
	if !v.OK {
		return "—"
	}
	return FormatNumber(v) + " tokens/s per W"
}

// GPUText is the GPUs serving the row, "GPU 0, 1", or why they are not
// known: "unknown (remote)", "none (no GPU process)", "unknown".
func (d RowDetail) GPUText() string {
	switch d.GPUMapping {
	case "mapped":
		if d.GPUsOfHost || len(d.GPUs) == 0 {
			return "unknown"
		}
		idx := make([]string, 0, len(d.GPUs))
		for _, g := range d.GPUs {
			idx = append(idx, g.Index)
		}
		return "GPU " + strings.Join(idx, ", ")
	case "remote":
		return "unknown (remote)"
	case "no_gpu_process":
		return "none (no GPU process)"
	case "unknown":
		return "unknown (other PID namespace)"
	}
	return ""
}

// FormatQuantile writes a latency percentile, or "≥ bound" when it is the
// bound of the histogram's last finite bucket (histogram_quantile returns
// that bound for a rank in the +Inf bucket, so the real value is higher).
func (d RowDetail) FormatQuantile(field string, v Value) string {
	if d.BeyondLastBucket(field, v) {
		return "≥ " + FormatSeconds(Value{V: d.LastBucket[field], OK: true})
	}
	return FormatSeconds(v)
}

// BeyondLastBucket reports whether v is at (or past) the last finite bucket
// bound of field's histogram.
func (d RowDetail) BeyondLastBucket(field string, v Value) bool {
	b, ok := d.LastBucket[field]
	return ok && v.OK && b > 0 && v.V >= b*(1-1e-9)
}

// FormatVRAM writes "76/80 GB" style used and total memory.
func FormatVRAM(used, total Value) string {
	if !used.OK {
		return "—"
	}
	if !total.OK {
		return FormatBytes(used)
	}
	return FormatBytes(used) + " / " + FormatBytes(total)
}

// gpuSMText is the SM activity of a GPU.
func gpuSMText(v Value) string {
	if !v.OK {
		return "—"
	}
	return "SM " + strconv.FormatFloat(v.V, 'f', 0, 64) + "%"
}
