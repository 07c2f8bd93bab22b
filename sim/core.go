package sim

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// profile holds the constants of the simulated GPU and model: a Llama-3.1-8B-class model on a
// GPU whose KV cache is deliberately small (16k tokens) so that a few times the default load
// saturates it and a load spike turns into queueing and preemptions within seconds.
type profile struct {
	blockSize        int           // tokens per KV-cache block (vLLM's default 16)
	numBlocks        int           // KV-cache blocks on the GPU
	maxNumSeqs       int           // running-batch limit
	maxBatchedTokens int           // token budget per engine step (chunked prefill)
	stepOverhead     time.Duration // fixed cost of a forward pass (weights read once per step)
	perSeq           time.Duration // cost per sequence in the batch (sampling, bookkeeping)
	perPrefillToken  time.Duration // cost per prompt token computed (compute-bound)
	perCtxToken      time.Duration // cost per cached token attended to (memory-bound)
	jitter           float64       // relative standard deviation of a step's duration
	frontendBase     time.Duration // tokenisation and IPC before the request reaches the queue
	frontendPerToken time.Duration
	cyclePeriod      time.Duration // period of the sinusoidal load cycle
	cycleAmplitude   float64       // relative amplitude of the load cycle
	idleTick         time.Duration // how often an idle engine looks for synthetic arrivals
	activityTau      time.Duration // time constant of Activity's moving averages
	clientPatience   time.Duration // a synthetic client gives up if not scheduled by then
}

func defaultProfile() profile {
	return profile{
		blockSize:        16,
		numBlocks:        1024,
		maxNumSeqs:       64,
		maxBatchedTokens: 2048,
		stepOverhead:     6 * time.Millisecond,
		perSeq:           250 * time.Microsecond,
		perPrefillToken:  50 * time.Microsecond,
		perCtxToken:      250 * time.Nanosecond,
		jitter:           0.04,
		frontendBase:     500 * time.Microsecond,
		frontendPerToken: time.Microsecond,
		cyclePeriod:      4 * time.Minute,
		cycleAmplitude:   0.5,
		idleTick:         10 * time.Millisecond,
		activityTau:      5 * time.Second,
		clientPatience:   60 * time.Second,
	}
}

// Finish reasons, as vLLM names them.
const (
	reasonStop   = "stop"
	reasonLength = "length"
	reasonAbort  = "abort"
)

var errStopped = errors.New("simulator is not running")

// request is one request inside the simulated engine. The engine goroutine owns every field
// except abort, which an HTTP handler sets when its client goes away.
type request struct {
	id        uint64
	synthetic bool
	arrival   time.Time // frontend arrival: TTFT and e2e start here
	eligible  time.Time // enters the scheduler queue after tokenisation
	prompt    int
	maxTokens int
	target    int    // output tokens this request will produce
	reason    string // finish reason once target is reached
	generated int
	computed  int // tokens whose KV is in the cache
	blocks    int
	scheduled time.Time // first time scheduled (re-scheduling after preemption is ignored)
	firstTok  time.Time
	lastTok   time.Time
	done      bool
	events    chan tokenEvent // nil for synthetic requests; capacity target+1, so sends never block
	abort     atomic.Bool
}

// tokenEvent is sent to an HTTP handler for each generated token, and once more (with no
// token) when the engine drops the request.
type tokenEvent struct {
	index  int // 0-based index of the token; -1 when no token is carried
	at     time.Time
	final  bool
	reason string
}

// stepResult describes one engine step for the expositions.
type stepResult struct {
	start, end     time.Time
	prefillTokens  int // prompt (or recomputed) tokens computed in the step
	decodeTokens   int // sequences that were decoding
	numSeqs        int
	newSeqs        int // requests admitted from the queue in this step
	concat         bool
	chunked        bool // some prefill did not finish in this step
	prefillShare   float64
	promptFinished int // prompt tokens of requests whose first prefill finished in the step
	generated      int // tokens sampled in the step
}

// schedState is the scheduler state the gauges show.
type schedState struct {
	running, waiting int
	usedBlocks       int
	numBlocks        int
	blockSize        int
	batchMaxTokens   int // TGI's token budget of the running batch: prompt + max_tokens
	usedTokens       int
	maxContext       int // longest context among running requests
}

func (s schedState) kvUsage() float64 {
	if s.numBlocks == 0 {
		return 0
	}
	return float64(s.usedBlocks) / float64(s.numBlocks)
}

// exposition turns engine events into one server's metrics. Every method is called from the
// engine goroutine.
type exposition interface {
	arrived(r *request)
	scheduled(r *request)
	firstToken(r *request)
	tokenGap(r *request, gap time.Duration)
	finished(r *request)
	aborted(r *request, at time.Time)
	preempted(r *request)
	step(s *stepResult)
	state(s schedState)
}

type planEntry struct {
	r       *request
	need    int
	prefill bool
}

// core is the simulated engine: the synthetic arrival process, the queue, the continuous-
// batching scheduler with its KV-cache budget, and the step clock.
type core struct {
	prof        profile
	log         *slog.Logger
	expo        exposition
	maxModelLen int
	baseRate    float64

	load       atomic.Uint64 // math.Float64bits of the multiplier
	frontDelay atomic.Int64

	mu       sync.Mutex // guards the fields below
	inbox    []*request
	stopped  bool
	started  bool
	activity Activity

	wake chan struct{}

	httpMu  sync.Mutex
	httpRng *rand.Rand

	// Owned by the engine goroutine.
	wl          *workload
	jitterRng   *rand.Rand
	nextSpec    spec
	remaining   float64 // integrated rate left before the next synthetic arrival
	start       time.Time
	nextID      atomic.Uint64
	waiting     []*request
	running     []*request
	freeBlocks  int
	busyEWMA    float64
	computeEWMA float64
	tpsEWMA     float64
	dropped     int

	// Scenarios (scenario.go): the current one, its own generator, the KV
	// blocks before scaling, and the restart clock.
	scenario     atomic.Pointer[Scenario]
	scenarioRng  *rand.Rand
	restartNow   atomic.Bool
	baseBlocks   int
	lastRestart  time.Time
	loadingUntil time.Time
	// restart builds a fresh exposition for a restarted engine whose /metrics
	// answers again at the given time; nil: no restarts.
	restart func(loadedAt time.Time) (exposition, error)
}

func newCore(prof profile, seed int64, maxModelLen int, baseRate, load float64, expo exposition, log *slog.Logger) *core {
	c := &core{
		prof:        prof,
		log:         log,
		expo:        expo,
		maxModelLen: maxModelLen,
		baseRate:    baseRate,
		wake:        make(chan struct{}, 1),
		httpRng:     rand.New(rand.NewPCG(uint64(seed), 0x68747470)), //nolint:gosec // a simulation needs reproducible, not secret, numbers
		wl:          newWorkload(seed, maxModelLen),
		jitterRng:   rand.New(rand.NewPCG(uint64(seed), 0x6a6974)), //nolint:gosec // as above
		freeBlocks:  prof.numBlocks,
		baseBlocks:  prof.numBlocks,
		scenarioRng: rand.New(rand.NewPCG(uint64(seed), 0x7363656e)), //nolint:gosec // as above
	}
	c.setLoad(load)
	c.nextSpec = c.wl.next()
	c.remaining = c.nextSpec.gap
	return c
}

func (c *core) setLoad(m float64) { c.load.Store(math.Float64bits(m)) }
func (c *core) loadMult() float64 { return math.Float64frombits(c.load.Load()) }

// rateAt is the synthetic arrival rate (requests/s) at time t.
func (c *core) rateAt(t time.Time) float64 {
	phase := 2 * math.Pi * t.Sub(c.start).Seconds() / c.prof.cyclePeriod.Seconds()
	return c.baseRate * c.loadMult() * (1 + c.prof.cycleAmplitude*math.Sin(phase))
}

// currentRate is the synthetic arrival rate now, for the /sim/load state.
func (c *core) currentRate() float64 {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return c.baseRate * c.loadMult()
	}
	return c.rateAt(time.Now())
}

// submit hands an HTTP request to the engine.
func (c *core) submit(r *request) error {
	r.id = c.nextID.Add(1)
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return errStopped
	}
	c.inbox = append(c.inbox, r)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

func (c *core) httpOutputLength(limit int) int {
	c.httpMu.Lock()
	defer c.httpMu.Unlock()
	return outputLength(c.httpRng, limit)
}

func (c *core) isStarted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

func (c *core) snapshot() Activity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.activity
}

// run is the engine loop. It returns when ctx is done, after dropping every request.
func (c *core) run(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("simulator already ran")
	}
	c.started = true
	c.start = time.Now()
	c.mu.Unlock()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	wait := func(d time.Duration, wakeable bool) bool {
		timer.Reset(d)
		wakeCh := c.wake
		if !wakeable {
			wakeCh = nil
		}
		// Since Go 1.23 Reset discards a pending expiry, so no Stop-and-drain is needed.
		select {
		case <-ctx.Done():
			return false
		case <-wakeCh:
		case <-timer.C:
		}
		return true
	}

	last := c.start
	for {
		now := time.Now()
		d, step := c.iterate(last, now)
		last = now
		if step == nil {
			if !wait(d, true) {
				c.shutdown()
				return nil
			}
			c.account(time.Since(now), 0, 0, 0)
			continue
		}
		if !wait(d, false) {
			c.shutdown()
			return nil
		}
		// Tokens go out after the step's metrics and Activity are recorded, so that a client
		// that has its answer finds it counted.
		deliver(step(time.Now()))
	}
}

// iterate is one pass of the engine loop at now (the previous pass ran at last): arrivals,
// the inbox, reaping, the scenario and the scheduler. It returns how long the engine waits
// next and, when it runs a step, the function that completes that step at its end time; a
// nil step means the engine idles for the wait (an HTTP request may wake it earlier). Run
// drives it on the wall clock, RunVirtual on a simulated one.
func (c *core) iterate(last, now time.Time) (time.Duration, func(end time.Time) []outbound) {
	c.arrivals(last, now)
	c.takeInbox()
	c.reap(now)
	var plan []planEntry
	var res *stepResult
	if !c.applyScenario(now) {
		plan, res = c.schedule(now)
	}
	c.expo.state(c.state())
	if len(plan) == 0 {
		d := c.prof.idleTick
		if len(c.waiting) > 0 {
			if until := c.waiting[0].eligible.Sub(now); until > 0 && until < d {
				d = until
			}
		}
		return d, nil
	}
	return c.stepDuration(plan, res), func(end time.Time) []outbound {
		res.start, res.end = now, end
		out := c.complete(plan, res)
		c.expo.step(res)
		c.expo.state(c.state())
		took := end.Sub(now)
		c.account(took, took, time.Duration(float64(took)*res.prefillShare), res.generated)
		return out
	}
}

// arrivals creates the synthetic requests that arrived in (from, to]: a non-homogeneous
// Poisson process by time rescaling, integrated in slices short enough for the load cycle.
func (c *core) arrivals(from, to time.Time) {
	const slice = 50 * time.Millisecond
	for t := from; t.Before(to); {
		end := t.Add(slice)
		if end.After(to) {
			end = to
		}
		rate := c.rateAt(t.Add(end.Sub(t) / 2))
		if rate <= 0 {
			t = end
			continue
		}
		avail := rate * end.Sub(t).Seconds()
		for c.remaining <= avail {
			at := t.Add(time.Duration(c.remaining / rate * float64(time.Second)))
			avail -= c.remaining
			t = at
			c.addSynthetic(at, c.shape(c.nextSpec))
			c.nextSpec = c.wl.next()
			c.remaining = c.nextSpec.gap
		}
		c.remaining -= avail
		t = end
	}
}

func (c *core) addSynthetic(at time.Time, s spec) {
	if len(c.waiting) >= maxSyntheticQ {
		c.dropped++
		if c.dropped == 1 {
			c.log.Warn("Synthetic queue full, dropping synthetic arrivals", "limit", maxSyntheticQ)
		}
		return
	}
	r := &request{
		id:        c.nextID.Add(1),
		synthetic: true,
		arrival:   at,
		prompt:    s.prompt,
		maxTokens: s.maxTokens,
	}
	r.target, r.reason = s.natural, reasonStop
	if s.natural >= s.maxTokens {
		r.target, r.reason = s.maxTokens, reasonLength
	}
	c.enqueue(r)
}

func (c *core) enqueue(r *request) {
	r.eligible = r.arrival.Add(c.prof.frontendBase + time.Duration(r.prompt)*c.prof.frontendPerToken)
	c.waiting = append(c.waiting, r)
	c.expo.arrived(r)
}

func (c *core) takeInbox() {
	c.mu.Lock()
	in := c.inbox
	c.inbox = nil
	c.mu.Unlock()
	for _, r := range in {
		c.enqueue(r)
	}
}

// reap drops requests whose HTTP client went away, and synthetic requests whose client gave
// up waiting (a 60 s client timeout, as load generators use), so that a long overload
// plateaus at about a minute of queue instead of growing without end.
func (c *core) reap(now time.Time) {
	patience := c.prof.clientPatience
	if sc := c.scenario.Load(); sc != nil && sc.ClientPatience > 0 {
		patience = sc.ClientPatience
	}
	keep := func(list []*request) []*request {
		out := list[:0]
		for _, r := range list {
			gaveUp := r.synthetic && r.scheduled.IsZero() && now.Sub(r.arrival) > patience
			if gaveUp || r.abort.Load() {
				c.freeBlocks += r.blocks
				r.blocks = 0
				r.done = true
				c.expo.aborted(r, now)
				continue
			}
			out = append(out, r)
		}
		clear(list[len(out):])
		return out
	}
	c.running = keep(c.running)
	c.waiting = keep(c.waiting)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// schedule picks the next step's batch the way vLLM V1's scheduler does: running requests
// first (one decode token each, or the next chunk of their prefill), preempting the newest
// running request when the KV cache has no block for a request's next tokens; then, if
// nothing was preempted, waiting requests in FCFS order while the token budget, the batch
// limit and free KV blocks allow.
func (c *core) schedule(now time.Time) ([]planEntry, *stepResult) {
	bs := c.prof.blockSize
	budget := c.prof.maxBatchedTokens
	var plan []planEntry
	res := &stepResult{}
	preempted := false
	wasRunning := len(c.running)
	for i := 0; i < len(c.running) && budget > 0; {
		r := c.running[i]
		need := min(r.prompt+r.generated-r.computed, budget)
		blocks := ceilDiv(r.computed+need, bs) - r.blocks
		victimSelf := false
		for blocks > c.freeBlocks {
			victim := c.running[len(c.running)-1]
			c.preempt(victim)
			preempted = true
			if victim == r {
				victimSelf = true
				break
			}
		}
		if victimSelf {
			break
		}
		c.freeBlocks -= blocks
		r.blocks += blocks
		plan = append(plan, planEntry{r: r, need: need, prefill: r.computed < r.prompt+r.generated-1})
		budget -= need
		i++
	}
	if !preempted {
		for len(c.waiting) > 0 && budget > 0 && len(c.running) < c.prof.maxNumSeqs {
			r := c.waiting[0]
			if r.eligible.After(now) {
				break
			}
			need := min(r.prompt+r.generated-r.computed, budget)
			blocks := ceilDiv(r.computed+need, bs) - r.blocks
			if blocks > c.freeBlocks {
				break
			}
			c.waiting[0] = nil
			c.waiting = c.waiting[1:]
			c.running = append(c.running, r)
			c.freeBlocks -= blocks
			r.blocks += blocks
			if r.scheduled.IsZero() {
				r.scheduled = now
				c.expo.scheduled(r)
			}
			plan = append(plan, planEntry{r: r, need: need, prefill: true})
			budget -= need
			res.newSeqs++
		}
	}
	res.concat = res.newSeqs > 0 && wasRunning > 0
	return plan, res
}

// preempt sends a running request back to the front of the queue, freeing its KV blocks; it
// is recomputed (prompt and generated tokens) when scheduled again.
func (c *core) preempt(r *request) {
	for i, x := range c.running {
		if x == r {
			c.running = append(c.running[:i], c.running[i+1:]...)
			break
		}
	}
	c.freeBlocks += r.blocks
	r.blocks = 0
	r.computed = 0
	c.waiting = append([]*request{r}, c.waiting...)
	c.expo.preempted(r)
}

// stepDuration is the modelled time of one forward pass: a fixed cost, a cost per sequence,
// a compute cost per prompt token and a memory cost per cached token attended to.
func (c *core) stepDuration(plan []planEntry, res *stepResult) time.Duration {
	var prefillTok, ctxTok int
	for _, e := range plan {
		if e.prefill {
			prefillTok += e.need
		} else {
			res.decodeTokens++
		}
		ctxTok += e.r.computed
	}
	res.prefillTokens = prefillTok
	res.numSeqs = len(plan)
	p := c.prof
	weights, compute := c.costScales()
	prefill := time.Duration(float64(time.Duration(prefillTok)*p.perPrefillToken) * compute)
	memory := time.Duration(float64(p.stepOverhead+time.Duration(ctxTok)*p.perCtxToken) * weights)
	raw := memory + time.Duration(len(plan))*p.perSeq + prefill
	res.prefillShare = float64(prefill) / float64(raw)
	j := 1 + p.jitter*c.jitterRng.NormFloat64()
	j = math.Max(0.8, math.Min(1.2, j))
	return time.Duration(float64(raw) * j)
}

// outbound is a token event waiting to be delivered to an HTTP handler.
type outbound struct {
	ch chan tokenEvent
	ev tokenEvent
}

func deliver(out []outbound) {
	for _, o := range out {
		select {
		case o.ch <- o.ev:
		default: // cannot happen: the channel holds target+1 events
		}
	}
}

// complete applies a finished step: prefill progress, one sampled token per request whose
// tokens are all computed, and finished requests leaving the batch. It returns the token
// events for the HTTP handlers.
func (c *core) complete(plan []planEntry, res *stepResult) []outbound {
	var out []outbound
	anyDone := false
	for _, e := range plan {
		r := e.r
		r.computed += e.need
		if r.computed < r.prompt+r.generated {
			res.chunked = true
			continue
		}
		r.generated++
		res.generated++
		if r.generated == 1 {
			r.firstTok = res.end
			res.promptFinished += r.prompt
			c.expo.firstToken(r)
		} else {
			c.expo.tokenGap(r, res.end.Sub(r.lastTok))
		}
		r.lastTok = res.end
		fin := r.generated >= r.target
		if r.events != nil {
			ev := tokenEvent{index: r.generated - 1, at: res.end, final: fin}
			if fin {
				ev.reason = r.reason
			}
			out = append(out, outbound{r.events, ev})
		}
		if fin {
			r.done = true
			anyDone = true
			c.freeBlocks += r.blocks
			r.blocks = 0
			c.expo.finished(r)
		}
	}
	if anyDone {
		keep := c.running[:0]
		for _, r := range c.running {
			if !r.done {
				keep = append(keep, r)
			}
		}
		clear(c.running[len(keep):])
		c.running = keep
	}
	return out
}

func (c *core) state() schedState {
	s := schedState{
		running:    len(c.running),
		waiting:    len(c.waiting),
		usedBlocks: c.prof.numBlocks - c.freeBlocks,
		numBlocks:  c.prof.numBlocks,
		blockSize:  c.prof.blockSize,
	}
	for _, r := range c.running {
		s.batchMaxTokens += r.prompt + r.maxTokens
		s.usedTokens += r.computed
		s.maxContext = max(s.maxContext, r.computed)
	}
	return s
}

// account updates Activity's moving averages with an interval of length dt, busy of which the
// engine was stepping and compute of that computing prompt tokens, in which tokens were
// generated.
func (c *core) account(dt, busy, compute time.Duration, tokens int) {
	if dt <= 0 {
		return
	}
	a := math.Exp(-dt.Seconds() / c.prof.activityTau.Seconds())
	c.busyEWMA = a*c.busyEWMA + (1-a)*busy.Seconds()/dt.Seconds()
	c.computeEWMA = a*c.computeEWMA + (1-a)*compute.Seconds()/dt.Seconds()
	c.tpsEWMA = a*c.tpsEWMA + (1-a)*float64(tokens)/dt.Seconds()
	st := c.state()
	c.mu.Lock()
	c.activity = Activity{
		Running:         st.running,
		Waiting:         st.waiting,
		KVCacheUsage:    st.kvUsage(),
		Busy:            math.Min(1, c.busyEWMA),
		ComputeBusy:     math.Min(c.busyEWMA, c.computeEWMA),
		TokensPerSecond: c.tpsEWMA,
	}
	c.mu.Unlock()
}

// shutdown stops accepting requests and tells every HTTP handler still waiting that its
// request was dropped.
func (c *core) shutdown() {
	c.mu.Lock()
	c.stopped = true
	in := c.inbox
	c.inbox = nil
	c.activity = Activity{}
	c.mu.Unlock()
	all := append(append(append([]*request{}, c.running...), c.waiting...), in...)
	for _, r := range all {
		if r.events != nil && !r.done {
			select {
			case r.events <- tokenEvent{index: -1, final: true, reason: reasonAbort}:
			default:
			}
		}
	}
	c.running, c.waiting = nil, nil
	c.freeBlocks = c.prof.numBlocks
}
