package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ritwikareddykancharla/token-path-observability/gpu"
	"github.com/ritwikareddykancharla/token-path-observability/scrape"
	"github.com/ritwikareddykancharla/token-path-observability/scrape/probe"
	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

// demoModelTGI labels the simulated TGI server's series: TGI does not name
// its model in its metrics, so a real deployment sets it in the scrape
// config the same way.
const demoModelTGI = "mistralai/Mistral-7B-Instruct-v0.3"

// demo is --demo: a simulated vLLM and a simulated TGI server in-process,
// each on its own loopback port, scraped and probed like real ones; the
// simulated GPUs follow their load.
type demo struct {
	logger   *slog.Logger
	servers  []*demoServer
	schedule demoSchedule
	flags    demoFlags
}

type demoServer struct {
	kind     string
	sim      *sim.Simulator
	options  sim.Options // what sim was built from, for the backfill's copy
	listener net.Listener
	labels   string
	model    string // the scrape job's model label; "" for none
}

// targetLabels are the labels the demo's scrape job gives this server's series, the server
// kind that scraping detects (scrape.ServerLabel) included.
func (s *demoServer) targetLabels() map[string]string {
	out := map[string]string{"job": s.kind, "instance": s.listener.Addr().String(), scrape.ServerLabel: s.kind}
	if s.model != "" {
		out["model"] = s.model
	}
	return out
}

func newDemo(logger *slog.Logger, flags demoFlags) (*demo, error) {
	schedule, err := newDemoSchedule(flags.scenario)
	if err != nil {
		return nil, err
	}
	if flags.backfill < 0 {
		return nil, fmt.Errorf("--demo.backfill=%s: must not be negative (0 turns the backfill off)", flags.backfill)
	}
	d := &demo{logger: logger.With("component", "demo"), schedule: schedule, flags: flags}
	for i, kind := range []sim.Engine{"vllm", "tgi"} {
		o := sim.Options{
			Engine: kind, Seed: int64(i + 1), Logger: d.logger.With("engine", string(kind)),
			Scenario: schedule.at(time.Now()),
		}
		labels, modelLabel := "", ""
		if kind == "tgi" {
			o.Model = demoModelTGI
			modelLabel = demoModelTGI
			labels = fmt.Sprintf("\n    labels:\n      model: %q", demoModelTGI)
		}
		s, err := sim.New(o)
		if err != nil {
			return nil, fmt.Errorf("--demo: %w", err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("--demo: listening for the simulated %s server: %w", kind, err)
		}
		d.servers = append(d.servers, &demoServer{kind: string(kind), sim: s, options: o, listener: l, labels: labels, model: modelLabel})
	}
	return d, nil
}

func (s *demoServer) url() string { return "http://" + s.listener.Addr().String() }

// scrapeConfigs are the demo's jobs, named like the seed's (vllm, tgi).
func (d *demo) scrapeConfigs() []string {
	var out []string
	for _, s := range d.servers {
		out = append(out, fmt.Sprintf("- job_name: %s\n  static_configs:\n  - targets: [%q]%s\n", s.kind, s.listener.Addr().String(), s.labels))
	}
	return out
}

// probes are one streaming probe per simulated server.
func (d *demo) probes() []probe.Config {
	var out []probe.Config
	for _, s := range d.servers {
		out = append(out, probe.Config{Endpoint: s.url(), Server: s.kind})
	}
	return out
}

// demoGPUs is the number of GPUs of go-nvml's simulated DGX H100.
const demoGPUs = 8

// gpuWork is what simulated GPU i does: the work of the simulated server it serves
// (gpuServer), as its engine reports it now.
func (d *demo) gpuWork(i int) gpu.SimulatedWork {
	return gpuWorkOf(d.servers[d.gpuServer(i)].sim.Activity())
}

// gpuServer is the index in d.servers of the simulated server that GPU i serves. The eight
// GPUs are shared out in order, as tensor-parallel groups (0–3 the vLLM server, 4–7 TGI).
func (d *demo) gpuServer(i int) int {
	return min(max(i, 0)*len(d.servers)/demoGPUs, len(d.servers)-1)
}

// gpuWorkOf is a GPU's work for its server's engine time — busy, and the part of it
// computing prompt tokens — so decode-heavy batches raise DRAM bandwidth and
// prefill-heavy ones SM and tensor activity.
func gpuWorkOf(a sim.Activity) gpu.SimulatedWork {
	w := gpu.SimulatedWork{Busy: a.Busy}
	if a.Busy > 0 {
		w.Compute = a.ComputeBusy / a.Busy
	}
	return w
}

// cycle switches every simulator to the schedule's scenario until ctx is done.
func (d *demo) cycle(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	current := d.servers[0].sim.Scenario()
	d.logger.Info("Demo scenario", "scenario", current, "cycle", d.flags.scenario == demoCycleName)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			next := d.schedule.at(now)
			if next == current {
				continue
			}
			for _, s := range d.servers {
				if err := s.sim.SetScenario(next); err != nil {
					d.logger.Error("Switching the demo's scenario", "scenario", next, "err", err)
				}
			}
			d.logger.Info("Demo scenario", "scenario", next, "previous", current)
			current = next
		}
	}
}

// actor runs the simulators and their HTTP servers.
func (d *demo) actor() actor {
	ctx, cancel := context.WithCancel(context.Background())
	return actor{
		execute: func() error {
			d.logger.Info("Starting simulated inference servers", "vllm", d.servers[0].url(), "tgi", d.servers[1].url())
			var wg sync.WaitGroup
			errc := make(chan error, 2*len(d.servers))
			wg.Go(func() { d.cycle(ctx) })
			for _, s := range d.servers {
				srv := &http.Server{Handler: s.sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
				wg.Go(func() {
					if err := s.sim.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
						errc <- fmt.Errorf("simulated %s: %w", s.kind, err)
					}
				})
				wg.Go(func() {
					if err := srv.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
						errc <- fmt.Errorf("simulated %s server: %w", s.kind, err)
					}
				})
				wg.Go(func() {
					<-ctx.Done()
					shutdown, c := context.WithTimeout(context.Background(), 5*time.Second)
					defer c()
					_ = srv.Shutdown(shutdown)
				})
			}
			var err error
			select {
			case err = <-errc:
				cancel()
			case <-ctx.Done():
			}
			wg.Wait()
			d.logger.Info("Simulated inference servers stopped")
			return err
		},
		interrupt: func(error) { cancel() },
	}
}
