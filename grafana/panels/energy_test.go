package panels

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/stretchr/testify/require"
)

// TestEnergyPanelScopes evaluates the energy panel on two machines (one of
// them with two mapped targets) and requires each query to return every
// row series inside the selection and the machine series of the selected
// hosts, each under its own legend, with the recorded value.
func TestEnergyPanelScopes(t *testing.T) {
	st := promqltest.LoadedStorage(t, `load 1m
  tokenpath:energy_per_token:joules{scope="node", host="a", node="gpu-a"} 0.4
  tokenpath:energy_per_token:joules{scope="node", host="b", node="gpu-b"} 0.5
  tokenpath:energy_per_token:joules{scope="row", host="a", job="vllm", instance="10.0.0.1:8000", server="vllm", model="llama"} 0.3
  tokenpath:energy_per_token:joules{scope="row", host="a", job="vllm", instance="10.0.0.1:8001", server="vllm", model="qwen"} 0.6
  tokenpath:tokens_per_joule{scope="node", host="a", node="gpu-a"} 2.5
  tokenpath:tokens_per_joule{scope="node", host="b", node="gpu-b"} 2
  tokenpath:tokens_per_joule{scope="row", host="a", job="vllm", instance="10.0.0.1:8000", server="vllm", model="llama"} 3.2
  tokenpath:tokens_per_joule{scope="row", host="a", job="vllm", instance="10.0.0.1:8001", server="vllm", model="qwen"} 1.6
`)
	ng := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	p, ok := Find("energy_per_token")
	require.True(t, ok)
	require.Len(t, p.Queries, 2)
	for _, tc := range []struct {
		name string
		vars map[string]string
		want [2]map[string]float64 // legend → value, per query
	}{
		{
			name: "everything",
			want: [2]map[string]float64{
				{"a gpu-a J/token (node)": 0.4, "b gpu-b J/token (node)": 0.5, "a vllm llama 10.0.0.1:8000 J/token (row)": 0.3, "a vllm qwen 10.0.0.1:8001 J/token (row)": 0.6},
				{"a gpu-a tokens/J (node)": 2.5, "b gpu-b tokens/J (node)": 2, "a vllm llama 10.0.0.1:8000 tokens/J (row)": 3.2, "a vllm qwen 10.0.0.1:8001 tokens/J (row)": 1.6},
			},
		},
		{
			name: "one model on one host: its row and its machine",
			vars: map[string]string{VarHost: Regex("a"), VarModel: Regex("llama")},
			want: [2]map[string]float64{
				{"a gpu-a J/token (node)": 0.4, "a vllm llama 10.0.0.1:8000 J/token (row)": 0.3},
				{"a gpu-a tokens/J (node)": 2.5, "a vllm llama 10.0.0.1:8000 tokens/J (row)": 3.2},
			},
		},
		{
			name: "a host without mapped targets: its machine",
			vars: map[string]string{VarHost: Regex("b")},
			want: [2]map[string]float64{{"b gpu-b J/token (node)": 0.5}, {"b gpu-b tokens/J (node)": 2}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, q := range p.Queries {
				expr := Expand(q.Expr, tc.vars)
				iq, err := ng.NewInstantQuery(t.Context(), st, nil, expr, time.Unix(0, 0))
				require.NoError(t, err, expr)
				t.Cleanup(iq.Close)
				vec, err := iq.Exec(t.Context()).Vector()
				require.NoError(t, err, expr)
				got := map[string]float64{}
				for _, s := range vec {
					got[fillLegend(q.Legend, s.Metric)] = s.F
				}
				require.Equal(t, tc.want[i], got, expr)
			}
		})
	}
}
