package sim

import (
	"math"
	"math/rand/v2"
)

// Length distributions of the synthetic workload. Chat-style traffic: prompts are log-normal
// around a few hundred tokens with a long tail (RAG contexts, pasted documents), outputs are
// log-normal around two hundred tokens, and clients ask for one of a few max_tokens values.
const (
	promptMedian  = 350
	promptSigma   = 0.9
	outputMedian  = 180
	outputSigma   = 0.8
	minPromptLen  = 8
	maxSyntheticQ = 20000 // synthetic arrivals beyond this many waiting requests are dropped
)

// maxTokensChoices are the max_tokens values synthetic clients send, with their weights.
var maxTokensChoices = [...]struct {
	value  int
	weight float64
}{{128, 0.15}, {256, 0.35}, {512, 0.35}, {1024, 0.15}}

// spec is one synthetic request: the exponential gap (in units of the integrated arrival rate,
// i.e. an Exp(1) draw) that precedes it and its lengths.
type spec struct {
	gap       float64
	prompt    int
	maxTokens int
	natural   int // the length at which the model would emit EOS
}

// workload draws the synthetic request sequence. Every call to next draws the same number of
// values from its own generator, so one seed gives one sequence whatever the load or timing.
type workload struct {
	rng         *rand.Rand
	maxModelLen int
}

func newWorkload(seed int64, maxModelLen int) *workload {
	// Reproducible by design: the same seed must give the same requests.
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6b656e70617468)) //nolint:gosec // not for secrets
	return &workload{rng: rng, maxModelLen: maxModelLen}
}

func (w *workload) next() spec {
	gap := w.rng.ExpFloat64()
	prompt := logNormal(w.rng, promptMedian, promptSigma)
	natural := logNormal(w.rng, outputMedian, outputSigma)
	u := w.rng.Float64()
	maxTokens := maxTokensChoices[len(maxTokensChoices)-1].value
	for _, c := range maxTokensChoices {
		if u < c.weight {
			maxTokens = c.value
			break
		}
		u -= c.weight
	}
	prompt = clamp(prompt, minPromptLen, w.maxModelLen/2)
	maxTokens = clamp(maxTokens, 1, w.maxModelLen-prompt)
	natural = clamp(natural, 1, w.maxModelLen-prompt)
	return spec{gap: gap, prompt: prompt, maxTokens: maxTokens, natural: natural}
}

// outputLength draws only a natural output length, for requests that arrive over HTTP.
func outputLength(rng *rand.Rand, limit int) int {
	return clamp(logNormal(rng, outputMedian, outputSigma), 1, limit)
}

func logNormal(rng *rand.Rand, median, sigma float64) int {
	return int(math.Round(median * math.Exp(sigma*rng.NormFloat64())))
}

func clamp(v, lo, hi int) int {
	if hi < lo {
		hi = lo
	}
	return max(lo, min(v, hi))
}
