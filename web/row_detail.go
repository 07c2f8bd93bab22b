package web

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// The series behind a row's detail (rules/README.md): lifecycle, KV knee
// and headroom per row; energy per row (GPUs mapped) or per host; the GPUs
// serving a row and the state of that mapping.

// rowLabels says whether a series with labels m belongs to row: every row
// label the series carries must be the row's.
func rowLabels(m model.Metric, row *components.ServerRow) bool {
	for name, want := range map[model.LabelName]string{hostLabel: row.Host, "server": row.Server, "model": row.Model, "instance": row.Instance, "job": row.Job} {
		if v, ok := m[name]; ok && string(v) != want {
			return false
		}
	}
	return true
}

// addRowDetails fills each row's Detail. Errors are collected: a row
// shows what could be read.
func (u *UI) addRowDetails(ctx context.Context, c components.Controls, rows []*components.ServerRow) error {
	var problems errs
	each := func(m model.Metric, f func(d *components.RowDetail)) {
		for _, r := range rows {
			if _, ok := m["instance"]; ok && rowLabels(m, r) {
				f(&r.Detail)
			}
		}
	}

	detail, err := u.instant(ctx, tableQuery(panels.RowDetail, c.Host, c.Model, c.Instance))
	problems.add(err)
	for _, s := range detail {
		v := components.Some(float64(s.Value))
		switch s.Metric[model.MetricNameLabel] {
		case "tokenpath:lifecycle:seconds":
			i := slices.IndexFunc(components.LifecyclePhases[:], func(p components.LifecyclePhase) bool { return p.Phase == string(s.Metric["phase"]) })
			if i >= 0 {
				each(s.Metric, func(d *components.RowDetail) { d.Lifecycle[i] = v })
			}
		case "tokenpath:lifecycle_consistency:ratio":
			each(s.Metric, func(d *components.RowDetail) { d.Consistency = v })
		case "tokenpath:lifecycle_inconsistent":
			each(s.Metric, func(d *components.RowDetail) { d.Inconsistent = s.Value == 1 })
		case "tokenpath:kv_cache_knee:ratio":
			each(s.Metric, func(d *components.RowDetail) { d.KVKnee = v })
		case "tokenpath:kv_cache_headroom:ratio":
			each(s.Metric, func(d *components.RowDetail) { d.KVHeadroom = v })
		}
	}

	buckets, err := u.instant(ctx, tableQuery(panels.LastBuckets, c.Host, c.Model, c.Instance))
	problems.add(err)
	for _, s := range buckets {
		le, err := strconv.ParseFloat(string(s.Metric["le"]), 64)
		if err != nil || math.IsInf(le, 0) {
			continue
		}
		field := strings.TrimSuffix(strings.TrimPrefix(string(s.Metric[model.MetricNameLabel]), "tokenpath:"), "_seconds_bucket:rate1m")
		each(s.Metric, func(d *components.RowDetail) {
			if d.LastBucket == nil {
				d.LastBucket = map[string]float64{}
			}
			d.LastBucket[field] = math.Max(d.LastBucket[field], le)
		})
	}

	gpuOf := map[*components.ServerRow][]string{} // row → GPU indexes serving it
	gmap, err := u.instantOnHost(ctx, tableQuery(panels.GPUMap, "", "", c.Instance), c.Host)
	problems.add(err)
	for _, s := range gmap {
		for _, r := range rows {
			if !rowLabels(s.Metric, r) {
				continue
			}
			switch s.Metric[model.MetricNameLabel] {
			case "tokenpath:inference_target_gpu":
				if s.Value == 1 {
					gpuOf[r] = append(gpuOf[r], string(s.Metric["gpu"]))
				}
			case "tokenpath_inference_target_gpu_mapping":
				if s.Value == 1 {
					r.Detail.GPUMapping = string(s.Metric["state"])
				}
			}
		}
	}

	energy, err := u.instantOnHost(ctx, panels.EnergyPerToken.Expr, c.Host)
	problems.add(err)
	for _, r := range rows {
		// The row's own figures when its GPUs are mapped, else its host's.
		var rowJ, rowT, hostJ, hostT components.Value
		for _, s := range energy {
			v := components.Some(float64(s.Value))
			var j, t *components.Value
			switch {
			case s.Metric["server"] != "" && rowLabels(s.Metric, r):
				j, t = &rowJ, &rowT
			case s.Metric["server"] == "" && sameNode(s.Metric, r):
				j, t = &hostJ, &hostT
			default:
				continue
			}
			switch s.Metric[model.MetricNameLabel] {
			case "tokenpath:energy_per_token:joules":
				*j = v
			case "tokenpath:tokens_per_joule":
				*t = v
			}
		}
		if rowJ.OK || rowT.OK {
			r.Detail.JoulesPerToken, r.Detail.TokensPerJoule = rowJ, rowT
		} else if hostJ.OK || hostT.OK {
			r.Detail.JoulesPerToken, r.Detail.TokensPerJoule, r.Detail.EnergyOfHost = hostJ, hostT, true
		}
	}

	cards, err := u.gpuCards(ctx, c.Host)
	problems.add(err)
	for _, r := range rows {
		if r.Detail.GPUMapping == "remote" {
			continue // the host's GPUs are not the server's
		}
		r.Detail.GPUs, r.Detail.GPUsOfHost = rowGPUs(cards, r, gpuOf[r])
	}
	if len(problems) > 0 {
		return fmt.Errorf("reading the rows' lifecycle, KV knee, energy and GPUs: %s", problems.String())
	}
	return nil
}

// rowGPUs summarises the GPUs serving a row: those the mapping names, or,
// unmapped, every GPU on the row's node (a box whose GPUs it may use).
func rowGPUs(cards []components.GPUCard, r *components.ServerRow, mapped []string) (gpus []components.RowGPU, ofHost bool) {
	for _, c := range cards {
		if c.Host != r.Host || nodeOf(c.Instance) != nodeOf(r.Instance) {
			continue
		}
		if len(mapped) > 0 && !slices.Contains(mapped, c.Index) {
			continue
		}
		gpus = append(gpus, components.RowGPU{
			Index: c.Index, UUID: c.UUID, State: c.State, VRAMUsed: c.VRAMUsed, VRAMTotal: c.VRAMTotal,
			SM: c.Compute, Power: c.Power,
		})
	}
	slices.SortFunc(gpus, func(a, b components.RowGPU) int {
		return cmp.Or(cmpNumeric(a.Index, b.Index), cmp.Compare(a.UUID, b.UUID))
	})
	return gpus, len(mapped) == 0 && len(gpus) > 0
}

// sameNode says whether a host-level series (no server) is of the row's
// box: the same tokenpath (host label), and by its node label (instance
// without port) when it has one; a series without one is the host's.
func sameNode(m model.Metric, r *components.ServerRow) bool {
	if string(m[hostLabel]) != r.Host {
		return false
	}
	if n, ok := m["node"]; ok {
		return string(n) == nodeOf(r.Instance)
	}
	return true
}

// nodeOf is an instance without its port, loopback spellings folded into
// "localhost" as the GPU rules' node label does.
func nodeOf(instance string) string {
	host, _, err := net.SplitHostPort(instance)
	if err != nil {
		host = instance
	}
	switch host {
	case "localhost", "127.0.0.1", "::1":
		return "localhost"
	}
	return host
}
