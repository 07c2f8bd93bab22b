package main

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ritwikareddykancharla/token-path-observability/gpu"
	"github.com/ritwikareddykancharla/token-path-observability/gpu/procmap"
	"github.com/ritwikareddykancharla/token-path-observability/scrape"
)

// registerGPUMapping puts the mapping of inference targets to GPUs
// (tokenpath_inference_target_gpu{,_mapping}, gpu/procmap) on the internal
// registry, from the scrape manager's active targets and the GPU collector's
// NVML process lists. Without the GPU collector (--no-gpu.enable) there is
// nothing to map to.
func registerGPUMapping(logger *slog.Logger, reg prometheus.Registerer, gpus *gpu.Collector, scrapeMgr *scrape.Manager) error {
	if gpus == nil {
		return nil
	}
	c, err := procmap.New(procmap.Options{Targets: procmap.ActiveTargets(scrapeMgr.Scrape()), GPUs: gpus, Logger: logger})
	if err != nil {
		return fmt.Errorf("creating the GPU mapping: %w", err)
	}
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("registering the GPU mapping: %w", err)
	}
	return nil
}
