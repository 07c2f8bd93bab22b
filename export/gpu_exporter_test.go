package export

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ritwikareddykancharla/token-path-observability/gpu"
)

// gpuExporterScrape fetches /metrics and parses it with expfmt.
func gpuExporterScrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", http.NoBody)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, "exposition:\n%s", body)
	return mfs
}

// gpuExporterValue returns the value of the series of family name whose label gpu is idx.
func gpuExporterValue(t *testing.T, mfs map[string]*dto.MetricFamily, name, idx string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	require.True(t, ok, "family %s missing", name)
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "gpu" && l.GetValue() == idx {
				switch mf.GetType() {
				case dto.MetricType_COUNTER:
					return m.GetCounter().GetValue()
				default:
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	require.Failf(t, "series missing", "%s{gpu=%q}", name, idx)
	return 0
}

func TestServeGPUExporter(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	simulated := func() gpu.Library { return gpu.NewSimulated(func() float64 { return 0.5 }) }
	simErr := simulated().Init()
	for _, tc := range []struct {
		name      string
		opts      GPUExporterOptions
		simulated bool
		check     func(t *testing.T, mfs map[string]*dto.MetricFamily)
	}{
		{
			name:      "simulated DGX H100 with DCGM names",
			opts:      GPUExporterOptions{Library: simulated(), DCGMNames: true, Hostname: "edge-1"},
			simulated: true,
			check: func(t *testing.T, mfs map[string]*dto.MetricFamily) {
				require.InDelta(t, 1.0, mfs["tokenpath_gpu_up"].GetMetric()[0].GetGauge().GetValue(), 0)
				require.Len(t, mfs["tokenpath_gpu_device_up"].GetMetric(), 8)
				for _, idx := range []string{"0", "7"} {
					require.InDelta(t, 1.0, gpuExporterValue(t, mfs, "tokenpath_gpu_device_up", idx), 0)
					total := gpuExporterValue(t, mfs, "gpu_vram_total_bytes", idx)
					require.InDelta(t, float64(81920<<20), total, 0)
					// vLLM-like: 90% of VRAM allocated whatever the load.
					require.InDelta(t, 0.9, gpuExporterValue(t, mfs, "gpu_vram_used_bytes", idx)/total, 0.001)
					require.InDelta(t, float64(81920*9/10), gpuExporterValue(t, mfs, "DCGM_FI_DEV_FB_USED", idx), 0)
					// Half load: utilisation near 50%, power between idle and the limit.
					require.InDelta(t, 46, gpuExporterValue(t, mfs, "gpu_compute_utilization", idx), 5)
					require.InDelta(t, 46, gpuExporterValue(t, mfs, "DCGM_FI_DEV_GPU_UTIL", idx), 5)
					power := gpuExporterValue(t, mfs, "gpu_power_draw_watts", idx)
					require.Greater(t, power, 300.0)
					require.Less(t, power, 400.0)
					require.InDelta(t, 700.0, gpuExporterValue(t, mfs, "gpu_power_limit_watts", idx), 0)
					require.InDelta(t, 1.98e9, gpuExporterValue(t, mfs, "gpu_sm_clock_hertz", idx), 0)
					require.InDelta(t, 1980.0, gpuExporterValue(t, mfs, "DCGM_FI_DEV_SM_CLOCK", idx), 0)
				}
				for _, m := range mfs["DCGM_FI_DEV_GPU_TEMP"].GetMetric() {
					labels := map[string]string{}
					for _, l := range m.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					require.Equal(t, "edge-1", labels["Hostname"])
					require.Equal(t, "NVIDIA H100 80GB HBM3", labels["modelName"])
					require.Equal(t, "nvidia"+labels["gpu"], labels["device"])
				}
				require.NotContains(t, mfs, "go_goroutines", "go/process collectors are off by default")
			},
		},
		{
			name:      "native names only, with the Go collectors",
			opts:      GPUExporterOptions{Library: simulated(), GoCollectors: true},
			simulated: true,
			check: func(t *testing.T, mfs map[string]*dto.MetricFamily) {
				require.NotContains(t, mfs, "DCGM_FI_DEV_FB_USED")
				require.Contains(t, mfs, "gpu_energy_joules_total")
				require.Contains(t, mfs, "go_goroutines")
			},
		},
		{
			name: "no NVML: serves tokenpath_gpu_up 0 and keeps running",
			opts: GPUExporterOptions{Library: gpu.NewNVML(nil, "/nonexistent/libnvidia-ml.so.1"), DCGMNames: true},
			check: func(t *testing.T, mfs map[string]*dto.MetricFamily) {
				require.InDelta(t, 0.0, mfs["tokenpath_gpu_up"].GetMetric()[0].GetGauge().GetValue(), 0)
				require.Len(t, mfs, 1)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.simulated && simErr != nil {
				t.Skipf("the simulated GPU needs cgo: %v", simErr)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			o := tc.opts
			o.Listener = l
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- ServeGPUExporter(ctx, o) }()
			base := "http://" + l.Addr().String()

			tc.check(t, gpuExporterScrape(t, base))

			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/", http.NoBody)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			landing, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Contains(t, string(landing), `href="/metrics"`)

			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				require.FailNow(t, "ServeGPUExporter did not return after cancellation")
			}
			http.DefaultClient.CloseIdleConnections()
			_, err = net.DialTimeout("tcp", l.Addr().String(), time.Second)
			require.Error(t, err, "the listener is closed")
		})
	}
}

func TestServeGPUExporterErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts GPUExporterOptions
		want string
	}{
		{"no library", GPUExporterOptions{}, "Library is required"},
		{"address in use", GPUExporterOptions{Library: gpu.NewNVML(nil, "/nonexistent/libnvidia-ml.so.1")}, "--listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "--listen" {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				t.Cleanup(func() { l.Close() })
				tc.opts.Listen = l.Addr().String()
			}
			err := ServeGPUExporter(t.Context(), tc.opts)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
