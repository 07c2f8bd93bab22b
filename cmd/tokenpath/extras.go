package main

import (
	"log/slog"
	"net/http"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ritwikareddykancharla/token-path-observability/server"
)

// extraFlags are the flags of the parts of tokenpath beyond a Prometheus
// server: the token-path rules, GPUs, probes.
type extraFlags struct {
	rulesDefaults bool
}

func (e *extraFlags) register(cmd *kingpin.CmdClause) {
	cmd.Flag("rules.defaults", "Load the embedded token-path recording rules and the seed's alerts (--no-rules.defaults turns them off).").Default("true").BoolVar(&e.rulesDefaults)
}

// actor is one member of the run group.
type actor struct {
	execute   func() error
	interrupt func(error)
}

// extras is what the optional parts add to the server's wiring.
type extras struct {
	ui            http.Handler
	mounts        map[string]http.Handler
	scrapeConfigs []string
	actors        []actor
	embeddedRules func() (map[string][]byte, error)
	demoEndpoints func() (vllm, tgi []string)
}

func (e *extraFlags) build(logger *slog.Logger, reg prometheus.Registerer, demo bool) (*extras, error) {
	return &extras{mounts: map[string]http.Handler{}}, nil
}

// attach gives the parts that read tokenpath's own API (the UI, the
// exporters) their in-process client.
func (x *extras) attach(srv *server.Server) error { return nil }

func (x *extras) applyProbes(cfg *server.Config, src server.Sources) error { return nil }
