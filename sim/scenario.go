package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Scenario is a named way to run the simulated engine so that one cause of a
// slow latency tail dominates (rules/README.md, "Diagnosis"). Every scenario
// changes the simulator's inputs — arrivals, lengths, KV budget, the front
// delay, restarts — never its outputs: the metrics still come out of the
// scheduler.
type Scenario struct {
	// Name is what --scenario and POST /sim/scenario?name= take.
	Name string `json:"name"`
	// Cause is the diagnosis the scenario produces.
	Cause string `json:"cause"`
	// Description says what the scenario does to the engine.
	Description string `json:"description"`
	// Load is the load multiplier (see Options.Load).
	Load float64 `json:"load"`
	// FrontDelay is the delay in front of the engine (see Options.FrontDelay).
	FrontDelay time.Duration `json:"front_delay"`
	// KVScale multiplies the KV-cache blocks (1: the default 1024 blocks).
	KVScale float64 `json:"kv_scale"`
	// LengthScale multiplies synthetic prompt and output lengths (1: unchanged).
	LengthScale float64 `json:"length_scale"`
	// LongPromptShare of synthetic requests get a prompt of LongPrompt tokens.
	LongPromptShare float64 `json:"long_prompt_share"`
	LongPrompt      int     `json:"long_prompt"`
	// OutputScale multiplies synthetic output lengths on top of LengthScale (0 or 1: unchanged).
	OutputScale float64 `json:"output_scale,omitempty"`
	// WeightScale multiplies the bandwidth-bound part of every step — the fixed cost of
	// reading the weights and the cost per cached token attended to — as a larger model on
	// the same GPU does (0 or 1: unchanged).
	WeightScale float64 `json:"weight_scale,omitempty"`
	// ComputeScale multiplies the compute-bound cost per prompt token (0 or 1: unchanged).
	ComputeScale float64 `json:"compute_scale,omitempty"`
	// ClientPatience, when set, replaces the synthetic clients' 60 s queue timeout, as a
	// gateway that sheds requests not started within it does.
	ClientPatience time.Duration `json:"client_patience,omitempty"`
	// RestartEvery restarts the engine on that period: every request in flight
	// is dropped, every counter starts again from zero and for RestartLoading
	// the engine loads its model (nothing is scheduled, /metrics answers 503).
	RestartEvery   time.Duration `json:"restart_every"`
	RestartLoading time.Duration `json:"restart_loading"`
}

// scenarios are the built-in scenarios, steady first.
var scenarios = []Scenario{
	{
		Name: "steady", Cause: "none", Load: 1, KVScale: 1, LengthScale: 1,
		Description: "the default load (2 requests/s, a third of capacity): the tail stays within objectives",
	},
	{
		Name: "queue_saturation", Cause: "queue_saturation", Load: 4, KVScale: 8, LengthScale: 1,
		Description: "8 requests/s, above the ~7/s the 64-sequence batch can serve, with 8× the KV cache: requests wait in the queue while the cache has room",
	},
	{
		Name: "kv_cache_pressure", Cause: "kv_cache_pressure", Load: 1, KVScale: 1, LengthScale: 4,
		Description: "prompts and outputs 4× longer: a few sequences fill the 16k-token KV cache, the newest are preempted and recomputed, and the queue grows behind them",
	},
	{
		Name: "prefill_interference", Cause: "prefill_interference", Load: 1, KVScale: 8, LengthScale: 1,
		LongPromptShare: 0.5, LongPrompt: 4000,
		Description: "half the requests carry a 4000-token prompt: its two 2048-token prefill chunks stall every decode in their steps (~110 ms), while other steps take ~10 ms",
	},
	{
		Name: "front_of_engine", Cause: "front_of_engine", Load: 1, KVScale: 1, LengthScale: 1, FrontDelay: 3 * time.Second,
		Description: "3 s in front of the engine (a slow proxy): the probes' TTFT is 3 s above the server's own",
	},
	{
		Name: "memory_bandwidth_bound", Cause: "memory_bandwidth_bound", Load: 0.3, KVScale: 8, LengthScale: 1, WeightScale: 16,
		Description: "a model 16× larger on the same GPU (0.6 requests/s): every decode step reads 16× the weights and KV bytes, so steps take 100–200 ms while almost no time goes to prefill compute — decode-heavy batches at the bandwidth limit",
	},
	{
		Name: "compute_bound", Cause: "compute_bound", Load: 4, KVScale: 8, LengthScale: 1, OutputScale: 0.1,
		LongPromptShare: 1, LongPrompt: 4000, ComputeScale: 1.5, ClientPatience: 2 * time.Second,
		Description: "every request a 4000-token prompt with a short answer (8 requests/s, summarisation-like) on a model needing 1.5× the FLOPs per token: a 2048-token prefill chunk in nearly every step (~160 ms), the GPU computing most of the time; a gateway sheds requests not started within 2 s, so the queue stays short",
	},
	{
		Name: "engine_restart", Cause: "engine_restart", Load: 1, KVScale: 1, LengthScale: 1,
		RestartEvery: 2 * time.Minute, RestartLoading: 5 * time.Second,
		Description: "the engine restarts every 2 minutes: requests in flight are dropped, counters start from zero, and for 5 s it loads its model (/metrics answers 503)",
	},
}

// Scenarios returns the built-in scenarios, steady first.
func Scenarios() []Scenario { return slices.Clone(scenarios) }

// ScenarioNames returns the names of the built-in scenarios.
func ScenarioNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name
	}
	return names
}

// LookupScenario returns the built-in scenario called name.
func LookupScenario(name string) (Scenario, error) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q: want one of %s", name, strings.Join(ScenarioNames(), ", "))
}

// SetScenario switches the running simulator to the built-in scenario name:
// load, front delay, KV budget, lengths and restarts all change at once.
func (s *Simulator) SetScenario(name string) error {
	sc, err := LookupScenario(name)
	if err != nil {
		return err
	}
	s.SetLoad(sc.Load)
	s.SetFrontDelay(sc.FrontDelay)
	s.core.scenario.Store(&sc)
	// A switch into a restarting scenario restarts at once, so that a short turn of the
	// demo's cycle shows a restart.
	s.core.restartNow.Store(sc.RestartEvery > 0 && s.core.isStarted())
	s.log.Info("Scenario changed", "scenario", sc.Name, "cause", sc.Cause)
	return nil
}

// Scenario returns the current scenario's name ("" before any was set).
func (s *Simulator) Scenario() string {
	if sc := s.core.scenario.Load(); sc != nil {
		return sc.Name
	}
	return ""
}

// shape applies the current scenario's lengths to a synthetic request.
func (c *core) shape(sp spec) spec {
	sc := c.scenario.Load()
	if sc == nil {
		return sp
	}
	if sc.OutputScale > 0 && sc.OutputScale != 1 {
		sp.maxTokens = max(1, int(math.Round(float64(sp.maxTokens)*sc.OutputScale)))
		sp.natural = max(1, int(math.Round(float64(sp.natural)*sc.OutputScale)))
	}
	if sc.LengthScale > 0 && sc.LengthScale != 1 {
		sp.prompt = clamp(int(math.Round(float64(sp.prompt)*sc.LengthScale)), minPromptLen, c.maxModelLen/2)
		sp.maxTokens = clamp(int(math.Round(float64(sp.maxTokens)*sc.LengthScale)), 1, c.maxModelLen-sp.prompt)
		sp.natural = clamp(int(math.Round(float64(sp.natural)*sc.LengthScale)), 1, c.maxModelLen-sp.prompt)
	}
	// The draw is made for every request so that the sequence does not depend on the share.
	if u := c.scenarioRng.Float64(); sc.LongPromptShare > 0 && u < sc.LongPromptShare {
		sp.prompt = clamp(sc.LongPrompt, minPromptLen, c.maxModelLen/2)
		sp.maxTokens = clamp(sp.maxTokens, 1, c.maxModelLen-sp.prompt)
		sp.natural = clamp(sp.natural, 1, c.maxModelLen-sp.prompt)
	}
	return sp
}

// applyScenario brings the engine's KV budget to the current scenario's and
// restarts the engine when its period is due. It runs on the engine goroutine
// and reports whether the engine is loading its model (schedules nothing).
func (c *core) applyScenario(now time.Time) bool {
	sc := c.scenario.Load()
	scale, every, loading := 1.0, time.Duration(0), time.Duration(0)
	if sc != nil {
		scale, every, loading = sc.KVScale, sc.RestartEvery, sc.RestartLoading
	}
	if scale <= 0 {
		scale = 1
	}
	if blocks := int(math.Round(float64(c.baseBlocks) * scale)); blocks != c.prof.numBlocks {
		c.freeBlocks += blocks - c.prof.numBlocks
		c.prof.numBlocks = blocks
		// A smaller cache than the running batch holds: preempt the newest until it fits.
		for c.freeBlocks < 0 && len(c.running) > 0 {
			c.preempt(c.running[len(c.running)-1])
		}
	}
	if c.restartNow.Swap(false) {
		c.restartEngine(now, loading)
	}
	if every > 0 {
		if c.lastRestart.IsZero() {
			c.lastRestart = now
		}
		if now.Sub(c.lastRestart) >= every {
			c.restartEngine(now, loading)
		}
	}
	return now.Before(c.loadingUntil)
}

// costScales are the current scenario's multipliers of the bandwidth-bound and the
// compute-bound parts of a step.
func (c *core) costScales() (weights, compute float64) {
	weights, compute = 1, 1
	if sc := c.scenario.Load(); sc != nil {
		if sc.WeightScale > 0 {
			weights = sc.WeightScale
		}
		if sc.ComputeScale > 0 {
			compute = sc.ComputeScale
		}
	}
	return weights, compute
}

// restartEngine drops every request, starts a fresh exposition (counters from
// zero, as a restarted process) and loads the model until now+loading.
func (c *core) restartEngine(now time.Time, loading time.Duration) {
	c.lastRestart = now
	c.loadingUntil = now.Add(loading)
	for _, r := range append(append([]*request{}, c.running...), c.waiting...) {
		r.done = true
		if r.events != nil {
			select {
			case r.events <- tokenEvent{index: -1, final: true, reason: reasonAbort}:
			default:
			}
		}
	}
	c.running, c.waiting = nil, nil
	c.freeBlocks = c.prof.numBlocks
	if c.restart != nil {
		expo, err := c.restart(now.Add(loading))
		if err != nil {
			c.log.Error("Restarting the simulated engine's metrics", "err", err)
			return
		}
		c.expo = expo
	}
	c.log.Info("Simulated engine restarted", "loading", loading)
}
