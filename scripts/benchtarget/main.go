// Command benchtarget serves a /metrics page with a fixed number of gauge
// series whose values change on every scrape, or (--vllm-models N) the
// exposition of one simulated vLLM server repeated for N served models, as
// the load for scripts/bench-vs-prometheus.sh. It is a benchmark tool, not
// part of tokenpath.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	series := flag.Int("series", 1000, "number of series to expose")
	churn := flag.Int("churn", 0, "number of further series replaced by new ones (a new gen label) every churn-every")
	churnEvery := flag.Duration("churn-every", time.Minute, "how often the churning series are replaced")
	vllmModels := flag.Int("vllm-models", 0, "serve a simulated vLLM server's metrics for this many models instead of gauges (0: gauges)")
	seed := flag.Int64("seed", 1, "seed of the simulated vLLM server")
	flag.Parse()
	start := time.Now()
	if *vllmModels > 0 {
		h, err := vllmHandler(*vllmModels, *seed)
		if err != nil {
			log.Fatal(err)
		}
		http.Handle("/metrics", h)
		srv := &http.Server{Addr: *listen, ReadHeaderTimeout: 5 * time.Second}
		fmt.Println("listening on", *listen)
		log.Fatal(srv.ListenAndServe())
	}

	var scrapes atomic.Int64
	http.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		buf := make([]byte, 0, *series*64)
		buf = append(buf, "# HELP bench_value A changing value.\n# TYPE bench_value gauge\n"...)
		for i := range *series {
			buf = append(buf, `bench_value{shard="`...)
			buf = strconv.AppendInt(buf, int64(i%100), 10)
			buf = append(buf, `",series="`...)
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, `"} `...)
			buf = strconv.AppendInt(buf, (n*7+int64(i))%1000, 10)
			buf = append(buf, '\n')
		}
		if *churn > 0 {
			// Series that appear and disappear: a soak's head-series churn.
			gen := int64(time.Since(start) / *churnEvery)
			buf = append(buf, "# HELP bench_churn A series that lives for one churn period.\n# TYPE bench_churn gauge\n"...)
			for i := range *churn {
				buf = append(buf, `bench_churn{gen="`...)
				buf = strconv.AppendInt(buf, gen, 10)
				buf = append(buf, `",series="`...)
				buf = strconv.AppendInt(buf, int64(i), 10)
				buf = append(buf, `"} `...)
				buf = strconv.AppendInt(buf, n, 10)
				buf = append(buf, '\n')
			}
		}
		_, _ = w.Write(buf)
	})
	srv := &http.Server{Addr: *listen, ReadHeaderTimeout: 5 * time.Second}
	fmt.Println("listening on", *listen)
	log.Fatal(srv.ListenAndServe())
}

// vllmHandler runs one simulated vLLM server and serves its exposition once
// per model, with model_name rewritten: a server hosting several models has
// each model's series, and one simulator keeps the load generator's own CPU
// small (the copies carry the same values, which changes nothing for the
// scraper's per-sample work).
func vllmHandler(models int, seed int64) (http.Handler, error) {
	s, err := sim.New(sim.Options{Engine: sim.EngineVLLM, Seed: seed, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("simulated vLLM: %w", err)
	}
	go func() { _ = s.Run(context.Background()) }()
	from := []byte(`model_name="` + sim.DefaultModel(sim.EngineVLLM) + `"`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := httptest.NewRequest(http.MethodGet, "/metrics", http.NoBody)
		req.Header.Set("Accept", "text/plain;version=0.0.4")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req.WithContext(r.Context()))
		one := rec.Body.Bytes()
		out := make([]byte, 0, len(one)*models)
		for i := range models {
			to := []byte(`model_name="model-` + strconv.Itoa(i) + `"`)
			for line := range bytes.Lines(one) {
				// HELP, TYPE and series without a model come once.
				if i > 0 && (len(line) > 0 && line[0] == '#' || !bytes.Contains(line, from)) {
					continue
				}
				out = append(out, bytes.ReplaceAll(line, from, to)...)
			}
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(out)
	}), nil
}
