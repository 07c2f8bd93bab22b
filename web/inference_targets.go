package web

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// inferenceKinds are the server kinds the token path knows; a scrape job
// named after one of them is a configured inference endpoint (the
// environment's endpoints become jobs of those names).
var inferenceKinds = []string{"vllm", "tgi", "sglang", "llamacpp"}

// targetDownAlert is the embedded alert whose activeAt says since when an
// inference endpoint has not answered.
const targetDownAlert = "InferenceTargetDown"

// inferenceTargets lists every configured inference endpoint — healthy,
// down, or serving something other than its job says — so that an endpoint
// that stopped answering is visible on the token-path page, not only on the
// Targets page. The host and instance filters apply; targets have no model.
// alerts are the current alerts (pending and firing), read once per page.
func (u *UI) inferenceTargets(ctx context.Context, c components.Controls, alerts []promv1.Alert) ([]components.InferenceTarget, error) {
	res, err := u.api.Targets(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing targets: %w", err)
	}
	// Keyed by host too: a central engine's InferenceTargetDown of one box
	// must not mark the same address on another box down.
	downSince := map[[3]string]components.InferenceTarget{}
	for _, a := range alerts {
		if a.Labels[model.AlertNameLabel] != targetDownAlert {
			continue
		}
		k := [3]string{string(a.Labels[hostLabel]), string(a.Labels["job"]), string(a.Labels["instance"])}
		downSince[k] = components.InferenceTarget{DownSince: a.ActiveAt, Alerting: string(a.State)}
	}
	var out []components.InferenceTarget
	for _, t := range res.Active {
		job, server := string(t.Labels["job"]), string(t.Labels["server"])
		if !slices.Contains(inferenceKinds, job) && !slices.Contains(inferenceKinds, server) {
			continue
		}
		inst, host := string(t.Labels["instance"]), string(t.Labels[hostLabel])
		if (c.Instance != "" && c.Instance != inst) || (c.Host != "" && c.Host != host) {
			continue
		}
		row := components.InferenceTarget{
			Host: host, Job: job, Instance: inst, URL: t.ScrapeURL, Server: server,
			Health: string(t.Health), LastScrape: t.LastScrape, Error: t.LastError,
			Mismatch: kindMismatch(job, server),
		}
		if d, ok := downSince[[3]string{host, job, inst}]; ok {
			row.DownSince, row.Alerting = d.DownSince, d.Alerting
		}
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b components.InferenceTarget) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Job, b.Job), cmp.Compare(a.Instance, b.Instance))
	})
	return out, nil
}

// kindMismatch says why a target's detected server kind does not fit the
// job it was configured under, or "" when it fits (or is not known yet).
func kindMismatch(job, server string) string {
	if !slices.Contains(inferenceKinds, job) || server == "" || server == job {
		return ""
	}
	if server == "other" {
		return fmt.Sprintf("configured as %s, but it exposes no metrics of a known inference server", job)
	}
	return fmt.Sprintf("configured as %s, but it exposes %s metrics", job, server)
}
