package main

import (
	"log/slog"
	"sync"
)

// sloWarnings speaks of the SLO bucket boundaries only where they matter:
// each server kind's warnings (a threshold that is not a boundary of that
// server's histogram) are logged once, the first time a target of that kind
// is scraped, and the probes' own when the first probe is configured. A
// machine that runs only vLLM hears nothing about SGLang's buckets.
type sloWarnings struct {
	logger *slog.Logger

	mu     sync.Mutex
	byKind map[string][]string // nil until set
	seen   map[string]bool     // kinds that appeared
	logged map[string]bool     // kinds whose warnings were logged
}

func newSLOWarnings(logger *slog.Logger) *sloWarnings {
	return &sloWarnings{logger: logger.With("component", "slo"), seen: map[string]bool{}, logged: map[string]bool{}}
}

// set gives the warnings by kind (slo.BucketWarnings). Kinds that already
// appeared are logged now.
func (w *sloWarnings) set(byKind map[string][]string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byKind = byKind
	for kind := range w.seen {
		w.logLocked(kind)
	}
}

// kindSeen is told that a target of kind is scraped (or, for slo.ProbeKind,
// probed). Safe for concurrent use; only the first call per kind logs.
func (w *sloWarnings) kindSeen(kind string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen[kind] = true
	if w.byKind != nil {
		w.logLocked(kind)
	}
}

func (w *sloWarnings) logLocked(kind string) {
	if w.logged[kind] {
		return
	}
	w.logged[kind] = true
	for _, msg := range w.byKind[kind] {
		w.logger.Warn("SLO threshold between bucket boundaries", "server", kind, "warning", msg)
	}
}
