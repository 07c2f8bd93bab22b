// Package sim simulates an LLM inference server (vLLM, TGI, SGLang or llama.cpp): a
// continuous-batching engine with a KV-cache budget that runs in real time, serves
// OpenAI-compatible streaming requests and exposes the real server's /metrics.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultArrivalRate = 2.0 // synthetic requests per second at multiplier 1
	DefaultLoad        = 1.0
	// MaxLoad caps the load multiplier so that the synthetic arrival loop stays bounded.
	MaxLoad = 1000.0
)

// Options configures a Simulator. Zero values take the defaults.
type Options struct {
	// Engine selects the /metrics exposition; default EngineVLLM.
	Engine Engine
	// Model is the served model name; default DefaultModel(Engine).
	Model string
	// Seed fixes the synthetic request sequence (arrival gaps and lengths).
	Seed int64
	// ArrivalRate is the mean synthetic arrival rate in requests/s at load multiplier 1;
	// default DefaultArrivalRate. The rate follows a sinusoidal cycle of four minutes around it.
	// To run without synthetic traffic, call SetLoad(0).
	ArrivalRate float64
	// Load is the initial load multiplier; default DefaultLoad.
	Load float64
	// FrontDelay is added in front of the engine before an HTTP response starts, like a slow
	// proxy; the server's own histograms do not see it.
	FrontDelay time.Duration
	// Scenario starts the simulator in a built-in scenario (Scenarios); it
	// overrides Load and FrontDelay.
	Scenario string
	// Logger receives the simulator's logs; default discards them.
	Logger *slog.Logger
}

// Activity is a snapshot of the simulated engine's state.
type Activity struct {
	Running      int     `json:"running"`
	Waiting      int     `json:"waiting"`
	KVCacheUsage float64 `json:"kv_cache_usage"` // 0–1
	// Busy is the fraction of recent time (a 5 s moving average) the engine was stepping;
	// time-based like nvidia-smi's utilisation, so one decoding request keeps it high.
	Busy float64 `json:"busy"`
	// ComputeBusy is the part of Busy spent computing prompt tokens (prefill: compute-bound
	// matrix multiplies); the rest of Busy reads weights and the KV cache (decode:
	// bandwidth-bound). The demo's simulated GPUs derive SM, tensor and DRAM activity from
	// the two.
	ComputeBusy float64 `json:"compute_busy"`
	// TokensPerSecond is the generated-token rate (a 5 s moving average).
	TokensPerSecond float64 `json:"tokens_per_second"`
}

// Simulator is one simulated inference server. Its methods are safe for concurrent use.
type Simulator struct {
	engine      Engine
	model       string
	maxModelLen int
	log         *slog.Logger
	// reg is the registry /metrics serves; a restart (scenario engine_restart)
	// replaces it with a fresh one.
	reg atomic.Pointer[prometheus.Registry]
	// metricsFrom is when /metrics answers again after a restart (UnixNano).
	metricsFrom atomic.Int64
	core        *core
	handler     http.Handler
	created     time.Time
}

// New builds a simulator; it does nothing until Run is called.
func New(o Options) (*Simulator, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Engine == "" {
		o.Engine = EngineVLLM
	}
	e, err := ParseEngine(string(o.Engine))
	if err != nil {
		return nil, err
	}
	o.Engine = e
	if o.Model == "" {
		o.Model = DefaultModel(o.Engine)
	}
	switch {
	case o.ArrivalRate < 0 || math.IsNaN(o.ArrivalRate) || math.IsInf(o.ArrivalRate, 0):
		return nil, fmt.Errorf("arrival rate %v: must be a positive number of requests per second", o.ArrivalRate)
	case o.Load < 0 || math.IsNaN(o.Load) || o.Load > MaxLoad:
		return nil, fmt.Errorf("load multiplier %v: must be between 0 and %v", o.Load, MaxLoad)
	case o.FrontDelay < 0:
		return nil, fmt.Errorf("front delay %v: must not be negative", o.FrontDelay)
	}
	if o.ArrivalRate == 0 {
		o.ArrivalRate = DefaultArrivalRate
	}
	if o.Load == 0 {
		o.Load = DefaultLoad
	}
	return newSimulator(o, defaultProfile())
}

func newSimulator(o Options, prof profile) (*Simulator, error) {
	s := &Simulator{
		engine:      o.Engine,
		model:       o.Model,
		maxModelLen: maxModelLen(o.Engine),
		log:         o.Logger.With("component", "sim", "engine", string(o.Engine)),
		created:     time.Now(),
	}
	reg := prometheus.NewRegistry()
	s.reg.Store(reg)
	expo, err := newExposition(o.Engine, o.Model, prof, s.maxModelLen, reg)
	if err != nil {
		return nil, err
	}
	s.core = newCore(prof, o.Seed, s.maxModelLen, o.ArrivalRate, o.Load, expo, s.log)
	s.core.restart = func(loadedAt time.Time) (exposition, error) {
		reg := prometheus.NewRegistry()
		expo, err := newExposition(o.Engine, o.Model, prof, s.maxModelLen, reg)
		if err != nil {
			return nil, err
		}
		s.metricsFrom.Store(loadedAt.UnixNano())
		s.reg.Store(reg)
		return expo, nil
	}
	s.core.frontDelay.Store(int64(o.FrontDelay))
	// After the front delay: a scenario sets its own.
	if o.Scenario != "" {
		if err := s.SetScenario(o.Scenario); err != nil {
			return nil, err
		}
	}
	s.handler = s.routes()
	return s, nil
}

// Engine returns the engine whose exposition the simulator serves.
func (s *Simulator) Engine() Engine { return s.engine }

// Model returns the served model name.
func (s *Simulator) Model() string { return s.model }

// Registry returns the simulator's own registry, the one /metrics serves.
// After a restart (scenario engine_restart) it is a new registry.
func (s *Simulator) Registry() *prometheus.Registry { return s.reg.Load() }

// Handler serves /metrics, the OpenAI-compatible API, /health and the /sim control endpoints.
// Completion requests wait for the engine, so they are answered only while Run runs.
func (s *Simulator) Handler() http.Handler { return s.handler }

// Run runs the engine until ctx is done, then drops every request still in flight (their
// HTTP handlers return) and returns. A Simulator runs once.
func (s *Simulator) Run(ctx context.Context) error {
	s.log.InfoContext(ctx, "Starting simulated engine", "model", s.model)
	err := s.core.run(ctx)
	if err != nil {
		return fmt.Errorf("simulated engine: %w", err)
	}
	s.log.InfoContext(ctx, "Simulated engine stopped")
	return nil
}

// SetLoad sets the load multiplier of the synthetic traffic; 0 stops synthetic arrivals.
// Values are clamped to [0, MaxLoad]; NaN is ignored.
func (s *Simulator) SetLoad(multiplier float64) {
	if math.IsNaN(multiplier) {
		return
	}
	multiplier = math.Max(0, math.Min(MaxLoad, multiplier))
	s.core.setLoad(multiplier)
	s.log.Info("Load changed", "multiplier", multiplier)
}

// Load returns the current load multiplier.
func (s *Simulator) Load() float64 { return s.core.loadMult() }

// SetFrontDelay sets the delay added in front of the engine before each HTTP response starts;
// negative values count as zero.
func (s *Simulator) SetFrontDelay(d time.Duration) {
	s.core.frontDelay.Store(int64(max(0, d)))
	s.log.Info("Front delay changed", "delay", max(0, d))
}

// FrontDelay returns the current front delay.
func (s *Simulator) FrontDelay() time.Duration { return time.Duration(s.core.frontDelay.Load()) }

// Activity returns a snapshot of the engine's state.
func (s *Simulator) Activity() Activity { return s.core.snapshot() }

// ListenAndServe runs a simulator built from o on addr until ctx is done, then stops the
// engine and drains the HTTP server. It logs the address it listens on.
func ListenAndServe(ctx context.Context, o Options, addr string) error {
	s, err := New(o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("simulator listen on %q: %w", addr, err)
	}
	s.log.InfoContext(ctx, "Simulator listening", "address", ln.Addr().String(), "model", s.model)
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var runErr, serveErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		runErr = s.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr = fmt.Errorf("simulator HTTP server: %w", err)
			cancel()
		}
	}()
	<-ctx.Done()
	// Stopping the engine (same ctx) ends every streaming response, so the drain is short.
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	shutErr := srv.Shutdown(shutdownCtx)
	if shutErr != nil {
		shutErr = fmt.Errorf("simulator HTTP shutdown: %w", shutErr)
	}
	wg.Wait()
	s.log.InfoContext(ctx, "Simulator stopped")
	return errors.Join(runErr, serveErr, shutErr)
}
