//go:build linux && cgo

package gpu

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const gib = 1 << 30

// testSample is a GPM sample of go-nvml's mock that remembers which GPU filled it.
type testSample struct {
	mock.GpmSample
	gpu int
}

// newDGX returns go-nvml's mock DGX H100 (8 GPUs) with every function the collector calls
// set to fixed per-GPU values, and stable UUIDs so they can appear in golden text.
func newDGX(t testing.TB) *server.Server {
	t.Helper()
	srv := dgxh100.New()
	for i, dev := range srv.Devices {
		d := dev.(*server.Device)
		d.UUID = fmt.Sprintf("GPU-00000000-0000-4000-8000-%012d", i)
		busID := fmt.Sprintf("00000000:%02X:00.0", 0x18+i)
		d.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
			var p nvml.PciInfo
			for j := range len(busID) {
				p.BusId[j] = int8(busID[j])
			}
			return p, nvml.SUCCESS
		}
		total := d.MemoryInfo.Total
		d.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
			used, reserved := uint64(72*gib), uint64(gib/2)
			return nvml.Memory_v2{Total: total, Used: used, Reserved: reserved, Free: total - used - reserved}, nvml.SUCCESS
		}
		d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: uint32(10 * i), Memory: uint32(5 * i)}, nvml.SUCCESS
		}
		d.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return uint32(30 + i), nvml.SUCCESS }
		d.GetPowerUsageFunc = func() (uint32, nvml.Return) { return uint32(100000 + 10000*i), nvml.SUCCESS }
		d.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 700000, nvml.SUCCESS }
		d.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) { return uint64(1_000_000 * (i + 1)), nvml.SUCCESS }
		d.GetClockInfoFunc = func(c nvml.ClockType) (uint32, nvml.Return) {
			if c == nvml.CLOCK_MEM {
				return 2619, nvml.SUCCESS
			}
			return 1980, nvml.SUCCESS
		}
		d.GetPcieThroughputFunc = func(c nvml.PcieUtilCounter) (uint32, nvml.Return) {
			if c == nvml.PCIE_UTIL_TX_BYTES {
				return uint32(1000 * i), nvml.SUCCESS
			}
			return uint32(2000 * i), nvml.SUCCESS
		}
		d.GetCurrentClocksEventReasonsFunc = func() (uint64, nvml.Return) {
			switch i {
			case 0:
				return nvml.ClocksEventReasonGpuIdle, nvml.SUCCESS
			case 7:
				return nvml.ClocksEventReasonSwPowerCap | nvml.ClocksThrottleReasonHwSlowdown, nvml.SUCCESS
			}
			return 0, nvml.SUCCESS
		}
		d.GetTotalEccErrorsFunc = func(et nvml.MemoryErrorType, _ nvml.EccCounterType) (uint64, nvml.Return) {
			if et == nvml.MEMORY_ERROR_TYPE_CORRECTED {
				return uint64(i), nvml.SUCCESS
			}
			return 0, nvml.SUCCESS
		}
		d.GetRemappedRowsFunc = func() (int, int, bool, bool, nvml.Return) { return i % 2, 0, false, false, nvml.SUCCESS }
		d.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			return []nvml.ProcessInfo{
				{Pid: uint32(1000 + i), UsedGpuMemory: 70 * gib},
				{Pid: 9999, UsedGpuMemory: ^uint64(0)}, // NVML_VALUE_NOT_AVAILABLE: skipped
			}, nvml.SUCCESS
		}
		d.GpmQueryDeviceSupportFunc = func() (nvml.GpmSupport, nvml.Return) {
			return nvml.GpmSupport{Version: 1, IsSupportedDevice: 1}, nvml.SUCCESS
		}
		d.GpmSampleGetFunc = func(s nvml.GpmSample) nvml.Return {
			s.(*testSample).gpu = i
			return nvml.SUCCESS
		}
		d.GetSupportedEventTypesFunc = func() (uint64, nvml.Return) { return nvml.EventTypeAll, nvml.SUCCESS }
		d.RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.SUCCESS }
	}
	srv.SystemGetProcessNameFunc = func(pid int) (string, nvml.Return) {
		return fmt.Sprintf("python3-%d", pid), nvml.SUCCESS
	}
	srv.GpmSampleAllocFunc = func() (nvml.GpmSample, nvml.Return) {
		s := &testSample{}
		s.FreeFunc = func() nvml.Return { return nvml.SUCCESS }
		return s, nvml.SUCCESS
	}
	srv.GpmMetricsGetFunc = func(mg *nvml.GpmMetricsGetType) nvml.Return {
		g := float64(mg.Sample2.(*testSample).gpu)
		for k := range mg.NumMetrics {
			m := &mg.Metrics[k]
			switch nvml.GpmMetricId(m.MetricId) {
			case nvml.GPM_METRIC_GRAPHICS_UTIL:
				m.Value = 50 + g
			case nvml.GPM_METRIC_SM_UTIL:
				m.Value = 40 + g
			case nvml.GPM_METRIC_SM_OCCUPANCY:
				m.Value = 20 + g
			case nvml.GPM_METRIC_ANY_TENSOR_UTIL:
				m.Value = 10 + g
			case nvml.GPM_METRIC_DRAM_BW_UTIL:
				m.Value = 60 + g
			}
		}
		return nvml.SUCCESS
	}
	srv.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
		set := &mock.EventSet{}
		set.WaitFunc = func(_ uint32) (nvml.EventData, nvml.Return) {
			time.Sleep(time.Millisecond)
			return nvml.EventData{}, nvml.ERROR_TIMEOUT
		}
		set.FreeFunc = func() nvml.Return { return nvml.SUCCESS }
		return set, nvml.SUCCESS
	}
	return srv
}

func dev(srv *server.Server, i int) *server.Device { return srv.Devices[i].(*server.Device) }

// newTestCollector builds a collector over the mock and registers it on a fresh registry.
// runCollector runs c until stop is called or the test ends, and requires
// that Run then returns nil.
func runCollector(t *testing.T, c *Collector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

func newTestCollector(t testing.TB, srv nvml.Interface, dcgm bool) (*Collector, *prometheus.Registry) {
	t.Helper()
	c, err := NewCollector(CollectorOptions{
		Library: newAdapter(nil, srv), DCGMNames: dcgm, Hostname: "gpu-host",
		RetryInterval: 10 * time.Millisecond, EventWait: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	fakeClock(c)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	return c, reg
}

// fakeClock makes every reading of the collector's clock one second later than the last, so
// back-to-back scrapes are far enough apart for GPM.
func fakeClock(c *Collector) {
	var tick atomic.Int64
	c.now = func() time.Time { return time.Unix(1_800_000_000+tick.Add(1), 0) }
}

func TestGPUCollectorGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dcgm   bool
		golden string
	}{
		{"native names", false, "dgxh100_native.prom"},
		{"native and dcgm names", true, "dgxh100_dcgm.prom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, reg := newTestCollector(t, newDGX(t), tc.dcgm)
			_, err := reg.Gather() // the first scrape primes the GPM sample
			require.NoError(t, err)
			path := filepath.Join("testdata", tc.golden)
			if *update {
				mfs, err := reg.Gather()
				require.NoError(t, err)
				var buf bytes.Buffer
				enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
				for _, mf := range mfs {
					require.NoError(t, enc.Encode(mf))
				}
				require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
			}
			f, err := os.Open(path)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			require.NoError(t, testutil.GatherAndCompare(reg, f))
		})
	}
}

func TestGPUCollectorDegrades(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(*server.Server)
		want   string
		names  []string
		verify func(*testing.T, *server.Server)
	}{
		{
			name: "a function the driver does not export is never called",
			setup: func(s *server.Server) {
				s.LookupSymbolFunc = func(sym string) error {
					if sym == "nvmlDeviceGetPowerUsage" {
						return fmt.Errorf("symbol %q not found", sym)
					}
					return nil
				}
			},
			want: `
# HELP gpu_power_limit_watts Power limit the driver enforces, in watts.
# TYPE gpu_power_limit_watts gauge
gpu_power_limit_watts{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 700
gpu_power_limit_watts{gpu="1",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:19:00.0",uuid="GPU-00000000-0000-4000-8000-000000000001"} 700
gpu_power_limit_watts{gpu="2",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1A:00.0",uuid="GPU-00000000-0000-4000-8000-000000000002"} 700
gpu_power_limit_watts{gpu="3",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1B:00.0",uuid="GPU-00000000-0000-4000-8000-000000000003"} 700
gpu_power_limit_watts{gpu="4",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1C:00.0",uuid="GPU-00000000-0000-4000-8000-000000000004"} 700
gpu_power_limit_watts{gpu="5",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1D:00.0",uuid="GPU-00000000-0000-4000-8000-000000000005"} 700
gpu_power_limit_watts{gpu="6",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1E:00.0",uuid="GPU-00000000-0000-4000-8000-000000000006"} 700
gpu_power_limit_watts{gpu="7",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1F:00.0",uuid="GPU-00000000-0000-4000-8000-000000000007"} 700
`,
			names: []string{"gpu_power_draw_watts", "gpu_power_limit_watts"},
			verify: func(t *testing.T, s *server.Server) {
				for i := range s.Devices {
					require.Empty(t, dev(s, i).GetPowerUsageCalls(), "GPU %d", i)
				}
			},
		},
		{
			name: "not supported on one GPU drops only that series",
			setup: func(s *server.Server) {
				dev(s, 3).GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) {
					return 0, nvml.ERROR_NOT_SUPPORTED
				}
				dev(s, 5).GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) {
					return 0, nvml.ERROR_UNKNOWN
				}
			},
			want: `
# HELP gpu_temperature_celsius GPU core temperature in degrees Celsius.
# TYPE gpu_temperature_celsius gauge
gpu_temperature_celsius{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 30
gpu_temperature_celsius{gpu="1",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:19:00.0",uuid="GPU-00000000-0000-4000-8000-000000000001"} 31
gpu_temperature_celsius{gpu="2",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1A:00.0",uuid="GPU-00000000-0000-4000-8000-000000000002"} 32
gpu_temperature_celsius{gpu="4",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1C:00.0",uuid="GPU-00000000-0000-4000-8000-000000000004"} 34
gpu_temperature_celsius{gpu="6",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1E:00.0",uuid="GPU-00000000-0000-4000-8000-000000000006"} 36
gpu_temperature_celsius{gpu="7",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1F:00.0",uuid="GPU-00000000-0000-4000-8000-000000000007"} 37
`,
			names: []string{"gpu_temperature_celsius"},
		},
		{
			name: "a GPU lost mid-collection reports device_up 0 and nothing else",
			setup: func(s *server.Server) {
				dev(s, 2).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
					return nvml.Utilization{}, nvml.ERROR_GPU_IS_LOST
				}
				dev(s, 6).GetUUIDFunc = func() (string, nvml.Return) { return "", nvml.ERROR_GPU_IS_LOST }
			},
			want: `
# HELP tokenpath_gpu_up 1 when NVML is initialised and lists the GPUs, 0 when it is not usable (no driver, no cgo, version mismatch).
# TYPE tokenpath_gpu_up gauge
tokenpath_gpu_up 1
# HELP tokenpath_gpu_device_up 1 when the GPU answers NVML, 0 when it is lost (ERROR_GPU_IS_LOST, Xid 79) or fails to identify itself.
# TYPE tokenpath_gpu_device_up gauge
tokenpath_gpu_device_up{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 1
tokenpath_gpu_device_up{gpu="1",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:19:00.0",uuid="GPU-00000000-0000-4000-8000-000000000001"} 1
tokenpath_gpu_device_up{gpu="2",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1A:00.0",uuid="GPU-00000000-0000-4000-8000-000000000002"} 0
tokenpath_gpu_device_up{gpu="3",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1B:00.0",uuid="GPU-00000000-0000-4000-8000-000000000003"} 1
tokenpath_gpu_device_up{gpu="4",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1C:00.0",uuid="GPU-00000000-0000-4000-8000-000000000004"} 1
tokenpath_gpu_device_up{gpu="5",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1D:00.0",uuid="GPU-00000000-0000-4000-8000-000000000005"} 1
tokenpath_gpu_device_up{gpu="6",name="",pci_bus_id="",uuid=""} 0
tokenpath_gpu_device_up{gpu="7",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1F:00.0",uuid="GPU-00000000-0000-4000-8000-000000000007"} 1
# HELP gpu_vram_total_bytes Total framebuffer memory, in bytes.
# TYPE gpu_vram_total_bytes gauge
gpu_vram_total_bytes{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 8.589934592e+10
gpu_vram_total_bytes{gpu="1",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:19:00.0",uuid="GPU-00000000-0000-4000-8000-000000000001"} 8.589934592e+10
gpu_vram_total_bytes{gpu="3",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1B:00.0",uuid="GPU-00000000-0000-4000-8000-000000000003"} 8.589934592e+10
gpu_vram_total_bytes{gpu="4",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1C:00.0",uuid="GPU-00000000-0000-4000-8000-000000000004"} 8.589934592e+10
gpu_vram_total_bytes{gpu="5",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1D:00.0",uuid="GPU-00000000-0000-4000-8000-000000000005"} 8.589934592e+10
gpu_vram_total_bytes{gpu="7",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1F:00.0",uuid="GPU-00000000-0000-4000-8000-000000000007"} 8.589934592e+10
`,
			names: []string{"tokenpath_gpu_up", "tokenpath_gpu_device_up", "gpu_vram_total_bytes"},
		},
		{
			name: "MIG instances",
			setup: func(s *server.Server) {
				d := dev(s, 0)
				d.MigMode = nvml.DEVICE_MIG_ENABLE
				d.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 3, nvml.SUCCESS }
				d.GetMigDeviceHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
					if i == 1 {
						return nil, nvml.ERROR_NOT_FOUND // an empty slot
					}
					m := &mock.Device{}
					m.GetUUIDFunc = func() (string, nvml.Return) { return fmt.Sprintf("MIG-0000-%d", i), nvml.SUCCESS }
					m.GetNameFunc = func() (string, nvml.Return) { return "NVIDIA H100 80GB HBM3 MIG 3g.40gb", nvml.SUCCESS }
					m.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) { return nvml.PciInfo{}, nvml.SUCCESS }
					m.GetMinorNumberFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
					m.GetGpuInstanceIdFunc = func() (int, nvml.Return) { return i + 1, nvml.SUCCESS }
					m.GetComputeInstanceIdFunc = func() (int, nvml.Return) { return 0, nvml.SUCCESS }
					m.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
						return nvml.Memory_v2{Total: 40 * gib, Used: uint64(i+1) * gib}, nvml.SUCCESS
					}
					return m, nvml.SUCCESS
				}
				d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
					return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED // as on a real MIG-enabled GPU
				}
			},
			want: `
# HELP gpu_mig_enabled 1 when MIG mode is on.
# TYPE gpu_mig_enabled gauge
gpu_mig_enabled{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 1
gpu_mig_enabled{gpu="1",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:19:00.0",uuid="GPU-00000000-0000-4000-8000-000000000001"} 0
gpu_mig_enabled{gpu="2",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1A:00.0",uuid="GPU-00000000-0000-4000-8000-000000000002"} 0
gpu_mig_enabled{gpu="3",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1B:00.0",uuid="GPU-00000000-0000-4000-8000-000000000003"} 0
gpu_mig_enabled{gpu="4",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1C:00.0",uuid="GPU-00000000-0000-4000-8000-000000000004"} 0
gpu_mig_enabled{gpu="5",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1D:00.0",uuid="GPU-00000000-0000-4000-8000-000000000005"} 0
gpu_mig_enabled{gpu="6",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1E:00.0",uuid="GPU-00000000-0000-4000-8000-000000000006"} 0
gpu_mig_enabled{gpu="7",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1F:00.0",uuid="GPU-00000000-0000-4000-8000-000000000007"} 0
# HELP gpu_mig_info A MIG instance of the GPU; always 1.
# TYPE gpu_mig_info gauge
gpu_mig_info{compute_instance_id="0",gpu="0",gpu_instance_id="1",mig_uuid="MIG-0000-0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 1
gpu_mig_info{compute_instance_id="0",gpu="0",gpu_instance_id="3",mig_uuid="MIG-0000-2",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 1
# HELP gpu_mig_vram_used_bytes Framebuffer memory used in a MIG instance, in bytes.
# TYPE gpu_mig_vram_used_bytes gauge
gpu_mig_vram_used_bytes{compute_instance_id="0",gpu="0",gpu_instance_id="1",mig_uuid="MIG-0000-0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 1.073741824e+09
gpu_mig_vram_used_bytes{compute_instance_id="0",gpu="0",gpu_instance_id="3",mig_uuid="MIG-0000-2",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 3.221225472e+09
# HELP gpu_compute_utilization Percent (0-100) of the last sample window in which at least one kernel ran (NVML utilization.gpu); busy time, not SM occupancy.
# TYPE gpu_compute_utilization gauge
gpu_compute_utilization{gpu="1",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:19:00.0",uuid="GPU-00000000-0000-4000-8000-000000000001"} 10
gpu_compute_utilization{gpu="2",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1A:00.0",uuid="GPU-00000000-0000-4000-8000-000000000002"} 20
gpu_compute_utilization{gpu="3",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1B:00.0",uuid="GPU-00000000-0000-4000-8000-000000000003"} 30
gpu_compute_utilization{gpu="4",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1C:00.0",uuid="GPU-00000000-0000-4000-8000-000000000004"} 40
gpu_compute_utilization{gpu="5",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1D:00.0",uuid="GPU-00000000-0000-4000-8000-000000000005"} 50
gpu_compute_utilization{gpu="6",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1E:00.0",uuid="GPU-00000000-0000-4000-8000-000000000006"} 60
gpu_compute_utilization{gpu="7",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1F:00.0",uuid="GPU-00000000-0000-4000-8000-000000000007"} 70
`,
			names: []string{"gpu_mig_enabled", "gpu_mig_info", "gpu_mig_vram_used_bytes", "gpu_compute_utilization"},
		},
		{
			name: "GPM not supported (pre-Hopper) gives no GPM series and is asked once",
			setup: func(s *server.Server) {
				for i := range s.Devices {
					dev(s, i).GpmQueryDeviceSupportFunc = func() (nvml.GpmSupport, nvml.Return) {
						return nvml.GpmSupport{}, nvml.ERROR_NOT_SUPPORTED
					}
				}
			},
			want:  ``,
			names: []string{"gpu_gpm_sm_activity_percent", "gpu_gpm_dram_bandwidth_utilization_percent"},
			verify: func(t *testing.T, s *server.Server) {
				require.Len(t, dev(s, 0).GpmQueryDeviceSupportCalls(), 1)
				require.Empty(t, s.GpmSampleAllocCalls())
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newDGX(t)
			tc.setup(srv)
			_, reg := newTestCollector(t, srv, false)
			_, err := reg.Gather()
			require.NoError(t, err)
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(tc.want), tc.names...))
			if tc.verify != nil {
				tc.verify(t, srv)
			}
		})
	}
}

func TestGPUCollectorWithoutNVML(t *testing.T) {
	for _, tc := range []struct {
		name string
		ret  nvml.Return
	}{
		{"no driver library", nvml.ERROR_LIBRARY_NOT_FOUND},
		{"kernel driver not loaded", nvml.ERROR_DRIVER_NOT_LOADED},
		{"driver/library version mismatch", nvml.ERROR_LIB_RM_VERSION_MISMATCH},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newDGX(t)
			srv.InitFunc = func() nvml.Return { return tc.ret }
			c, reg := newTestCollector(t, srv, true)
			require.False(t, c.Available())
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP tokenpath_gpu_up 1 when NVML is initialised and lists the GPUs, 0 when it is not usable (no driver, no cgo, version mismatch).
# TYPE tokenpath_gpu_up gauge
tokenpath_gpu_up 0
`)))
			// Nothing but Init may run before Init has succeeded.
			require.Empty(t, srv.DeviceGetCountCalls())
			require.Empty(t, srv.SystemGetDriverVersionCalls())
			require.Empty(t, srv.LookupSymbolCalls())
		})
	}
}

// TestGPUCollectorRun covers the background loop: Init retried until it works, XID events
// counted, a lost GPU re-initialised, and Shutdown on cancellation.
func TestGPUCollectorRun(t *testing.T) {
	srv := newDGX(t)
	var mu sync.Mutex
	initFails := 2
	srv.InitFunc = func() nvml.Return {
		mu.Lock()
		defer mu.Unlock()
		if initFails > 0 {
			initFails--
			return nvml.ERROR_DRIVER_NOT_LOADED
		}
		return nvml.SUCCESS
	}
	events := make(chan nvml.EventData, 8)
	srv.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
		set := &mock.EventSet{}
		set.WaitFunc = func(ms uint32) (nvml.EventData, nvml.Return) {
			select {
			case e := <-events:
				return e, nvml.SUCCESS
			case <-time.After(time.Duration(ms) * time.Millisecond):
				return nvml.EventData{}, nvml.ERROR_TIMEOUT
			}
		}
		set.FreeFunc = func() nvml.Return { return nvml.SUCCESS }
		return set, nvml.SUCCESS
	}
	c, reg := newTestCollector(t, srv, true)
	c.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	require.False(t, c.Available())

	stop := runCollector(t, c)
	require.Eventually(t, c.Available, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return len(dev(srv, 3).RegisterEventsCalls()) > 0 }, 5*time.Second, 5*time.Millisecond)

	xid := func(i int, code uint64) nvml.EventData {
		return nvml.EventData{Device: srv.Devices[i], EventType: nvml.EventTypeXidCriticalError, EventData: code}
	}
	events <- xid(3, 48)
	events <- xid(3, 48)
	events <- xid(3, 13)
	events <- xid(5, 94)
	require.Eventually(t, func() bool { return len(events) == 0 }, 5*time.Second, 5*time.Millisecond)

	want := `
# HELP gpu_xid_errors_total Xid critical errors seen since tokenpath started, by Xid code.
# TYPE gpu_xid_errors_total counter
gpu_xid_errors_total{gpu="3",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1B:00.0",uuid="GPU-00000000-0000-4000-8000-000000000003",xid="13"} 1
gpu_xid_errors_total{gpu="3",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1B:00.0",uuid="GPU-00000000-0000-4000-8000-000000000003",xid="48"} 2
gpu_xid_errors_total{gpu="5",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1D:00.0",uuid="GPU-00000000-0000-4000-8000-000000000005",xid="94"} 1
# HELP gpu_xid_last_timestamp_seconds Unix time of the last Xid error with this code; alert on time() minus this rather than on increase().
# TYPE gpu_xid_last_timestamp_seconds gauge
gpu_xid_last_timestamp_seconds{gpu="3",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1B:00.0",uuid="GPU-00000000-0000-4000-8000-000000000003",xid="13"} 1.8e+09
gpu_xid_last_timestamp_seconds{gpu="3",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1B:00.0",uuid="GPU-00000000-0000-4000-8000-000000000003",xid="48"} 1.8e+09
gpu_xid_last_timestamp_seconds{gpu="5",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:1D:00.0",uuid="GPU-00000000-0000-4000-8000-000000000005",xid="94"} 1.8e+09
`
	require.Eventually(t, func() bool {
		return testutil.GatherAndCompare(reg, strings.NewReader(want), "gpu_xid_errors_total", "gpu_xid_last_timestamp_seconds") == nil
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "gpu_xid_errors_total", "gpu_xid_last_timestamp_seconds"))

	// dcgm-exporter's DCGM_FI_DEV_XID_ERRORS is the last code, 0 for a GPU without one.
	var sb strings.Builder
	sb.WriteString("# HELP DCGM_FI_DEV_XID_ERRORS Value of the last XID error encountered.\n# TYPE DCGM_FI_DEV_XID_ERRORS gauge\n")
	for i, last := range []int{0, 0, 0, 13, 0, 94, 0, 0} {
		fmt.Fprintf(&sb, `DCGM_FI_DEV_XID_ERRORS{DCGM_FI_DRIVER_VERSION="550.54.15",Hostname="gpu-host",UUID="GPU-00000000-0000-4000-8000-%012d",device="nvidia%d",gpu="%d",modelName="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:%02X:00.0"} %d`+"\n",
			i, i, i, 0x18+i, last)
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(sb.String()), "DCGM_FI_DEV_XID_ERRORS"))

	// Xid 79 (fallen off the bus) makes Run shut NVML down and initialise it again.
	inits := len(srv.InitCalls())
	events <- xid(1, 79)
	require.Eventually(t, func() bool { return len(srv.ShutdownCalls()) == 1 && len(srv.InitCalls()) > inits }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, c.Available, 5*time.Second, 5*time.Millisecond)

	stop()
	require.False(t, c.Available())
	require.Len(t, srv.ShutdownCalls(), 2)
}

// TestGPUMetricNamesLint runs promtool's checks (promlint) over every series; only DCGM's own
// names and labels, kept for its dashboard, may break them.
func TestGPUMetricNamesLint(t *testing.T) {
	c, reg := newTestCollector(t, newDGX(t), true)
	c.recordEvent(Event{Kind: EventXID, UUID: "GPU-00000000-0000-4000-8000-000000000000", XID: 31})
	_, err := reg.Gather()
	require.NoError(t, err)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	var ours []promlint.Problem
	dcgm := 0
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "DCGM_") {
			dcgm++
			continue
		}
		ours = append(ours, p)
	}
	require.Empty(t, ours)
	require.NotZero(t, dcgm, "DCGM names are camel case; promlint should notice")
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{
		"gpu_vram_used_bytes", "gpu_vram_total_bytes", "gpu_vram_reserved_bytes",
		"gpu_compute_utilization", "gpu_memory_bandwidth_utilization", "gpu_temperature_celsius",
		"gpu_power_draw_watts", "gpu_power_limit_watts", "gpu_energy_joules_total", "gpu_sm_clock_hertz",
		"gpu_memory_clock_hertz", "gpu_gpm_sm_activity_percent", "gpu_gpm_sm_occupancy_percent",
		"gpu_gpm_tensor_activity_percent", "gpu_gpm_dram_bandwidth_utilization_percent", "tokenpath_gpu_up",
		"gpu_xid_errors_total", "DCGM_FI_DEV_FB_USED", "DCGM_FI_PROF_DRAM_ACTIVE", "DCGM_FI_DEV_XID_ERRORS",
	} {
		require.True(t, names[n], "missing %s", n)
	}
}

func TestGPUSimulated(t *testing.T) {
	for _, tc := range []struct {
		name string
		load float64
		want string
	}{
		{"idle", 0, `
# HELP gpu_compute_utilization Percent (0-100) of the last sample window in which at least one kernel ran (NVML utilization.gpu); busy time, not SM occupancy.
# TYPE gpu_compute_utilization gauge
gpu_compute_utilization{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
# HELP gpu_vram_used_bytes Framebuffer memory allocated by processes, in bytes (nvmlDeviceGetMemoryInfo_v2 used).
# TYPE gpu_vram_used_bytes gauge
gpu_vram_used_bytes{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 7.7309411328e+10
# HELP gpu_power_draw_watts Board power draw in watts.
# TYPE gpu_power_draw_watts gauge
gpu_power_draw_watts{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 72
# HELP gpu_gpm_dram_bandwidth_utilization_percent GPM: percent of the theoretical DRAM bandwidth in use; about 80 is the practical ceiling (Hopper+).
# TYPE gpu_gpm_dram_bandwidth_utilization_percent gauge
gpu_gpm_dram_bandwidth_utilization_percent{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
# HELP gpu_clock_throttle_active 1 when the clocks are held down for this reason (NVML clocks event reasons), else 0.
# TYPE gpu_clock_throttle_active gauge
gpu_clock_throttle_active{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",reason="applications_clocks_setting",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
gpu_clock_throttle_active{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",reason="display_clock_setting",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
gpu_clock_throttle_active{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",reason="gpu_idle",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 1
gpu_clock_throttle_active{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",reason="hw_power_brake_slowdown",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
gpu_clock_throttle_active{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",reason="hw_slowdown",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
gpu_clock_throttle_active{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",reason="hw_thermal_slowdown",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
gpu_clock_throttle_active{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",reason="sw_power_cap",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
gpu_clock_throttle_active{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",reason="sw_thermal_slowdown",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
gpu_clock_throttle_active{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",reason="sync_boost",uuid="GPU-5e1a7ed0-0000-4000-8000-000000000000"} 0
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCollector(CollectorOptions{Library: NewSimulated(func() float64 { return tc.load }), Hostname: "demo"})
			require.NoError(t, err)
			require.True(t, c.Available())
			fakeClock(c)
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, reg.Register(c))
			_, err = reg.Gather()
			require.NoError(t, err)
			mfs, err := reg.Gather()
			require.NoError(t, err)
			var only []string
			for _, mf := range mfs {
				only = append(only, mf.GetName())
			}
			require.Contains(t, only, "gpu_energy_joules_total")
			require.NoError(t, testutil.GatherAndCompare(gpu0(reg), strings.NewReader(tc.want),
				"gpu_compute_utilization", "gpu_vram_used_bytes", "gpu_power_draw_watts",
				"gpu_gpm_dram_bandwidth_utilization_percent", "gpu_clock_throttle_active"))
		})
	}
}

// TestGPUSimulatedFollowsLoad checks that the simulated GPU's moving series rise with load and
// VRAM does not.
func TestGPUSimulatedFollowsLoad(t *testing.T) {
	read := func(load float64) map[string]float64 {
		c, err := NewCollector(CollectorOptions{Library: NewSimulated(func() float64 { return load }), Hostname: "demo"})
		require.NoError(t, err)
		fakeClock(c)
		reg := prometheus.NewPedanticRegistry()
		require.NoError(t, reg.Register(c))
		_, err = reg.Gather()
		require.NoError(t, err)
		mfs, err := gpu0(reg).Gather()
		require.NoError(t, err)
		out := map[string]float64{}
		for _, mf := range mfs {
			if len(mf.GetMetric()) == 1 {
				out[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return out
	}
	idle, busy := read(0), read(1)
	for _, n := range []string{
		"gpu_compute_utilization", "gpu_memory_bandwidth_utilization", "gpu_power_draw_watts",
		"gpu_temperature_celsius", "gpu_sm_clock_hertz", "gpu_gpm_sm_activity_percent",
		"gpu_gpm_dram_bandwidth_utilization_percent", "gpu_gpm_tensor_activity_percent",
	} {
		require.Greater(t, busy[n], idle[n], n)
	}
	require.InDelta(t, idle["gpu_vram_used_bytes"], busy["gpu_vram_used_bytes"], 0)
	require.InDelta(t, 0.9, busy["gpu_vram_used_bytes"]/busy["gpu_vram_total_bytes"], 0.001)
	require.LessOrEqual(t, busy["gpu_compute_utilization"], 100.0)
}

// gpu0 narrows a gatherer to GPU 0, keeping the expected text short.
func gpu0(g prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		all, err := g.Gather()
		var mfs []*dto.MetricFamily
		for _, mf := range all {
			kept := mf.Metric[:0]
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "gpu" && l.GetValue() == "0" {
						kept = append(kept, m)
					}
				}
			}
			mf.Metric = kept
			if len(kept) > 0 {
				mfs = append(mfs, mf)
			}
		}
		return mfs, err
	})
}

// TestGPUGPMWindow checks that GPM values cover the window between scrapes, and that a scrape
// too soon after the last (a second scraper) repeats that window instead of sampling again.
func TestGPUGPMWindow(t *testing.T) {
	srv := newDGX(t)
	c, reg := newTestCollector(t, srv, true)
	var nanos atomic.Int64
	c.now = func() time.Time { return time.Unix(0, nanos.Load()) }
	want := `
# HELP gpu_gpm_sm_activity_percent GPM: percent of time SMs had at least one resident warp, averaged over SMs (Hopper+).
# TYPE gpu_gpm_sm_activity_percent gauge
gpu_gpm_sm_activity_percent{gpu="0",name="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0",uuid="GPU-00000000-0000-4000-8000-000000000000"} 40
# HELP DCGM_FI_PROF_SM_ACTIVE The ratio of cycles an SM has at least 1 warp assigned.
# TYPE DCGM_FI_PROF_SM_ACTIVE gauge
DCGM_FI_PROF_SM_ACTIVE{DCGM_FI_DRIVER_VERSION="550.54.15",Hostname="gpu-host",UUID="GPU-00000000-0000-4000-8000-000000000000",device="nvidia0",gpu="0",modelName="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:18:00.0"} 0.4
`
	names := []string{"gpu_gpm_sm_activity_percent", "DCGM_FI_PROF_SM_ACTIVE"}
	for _, step := range []struct {
		at      time.Duration
		want    string
		samples int
	}{
		{0, "", 8},                           // primes one sample per GPU
		{15 * time.Second, want, 16},         // the first window
		{15050 * time.Millisecond, want, 16}, // 50 ms later: the same window again, no sample
		{30 * time.Second, want, 24},         // the next window
	} {
		nanos.Store(int64(step.at))
		require.NoError(t, testutil.GatherAndCompare(gpu0(reg), strings.NewReader(step.want), names...), "at %s", step.at)
		require.Len(t, srv.GpmSampleAllocCalls(), step.samples, "at %s", step.at)
	}
}

// TestGPURunRetryTiming checks Run's timers in a synctest bubble: Init is retried every
// RetryInterval and no sooner, and a lost GPU's re-inits back off.
func TestGPURunRetryTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newDGX(t)
		initFails := 2
		srv.InitFunc = func() nvml.Return { // called from NewCollector, then from Run only
			if initFails > 0 {
				initFails--
				return nvml.ERROR_DRIVER_NOT_LOADED
			}
			return nvml.SUCCESS
		}
		c, err := NewCollector(CollectorOptions{Library: newAdapter(nil, srv), RetryInterval: 30 * time.Second})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()

		synctest.Wait() // Run's first retry fails too
		require.Len(t, srv.InitCalls(), 2)
		time.Sleep(29 * time.Second)
		synctest.Wait()
		require.Len(t, srv.InitCalls(), 2)
		require.False(t, c.Available())
		time.Sleep(time.Second)
		synctest.Wait()
		require.Len(t, srv.InitCalls(), 3)
		require.True(t, c.Available())

		// GPU 4 falls off the bus and stays off: re-init after 30 s, then 60 s, then 120 s.
		dev(srv, 4).GetUUIDFunc = func() (string, nvml.Return) { return "", nvml.ERROR_GPU_IS_LOST }
		reg := prometheus.NewPedanticRegistry()
		require.NoError(t, reg.Register(c))
		scrape := func() {
			_, err := reg.Gather()
			require.NoError(t, err)
		}
		scrape()
		for _, wait := range []time.Duration{30 * time.Second, 60 * time.Second, 120 * time.Second} {
			shutdowns := len(srv.ShutdownCalls())
			time.Sleep(wait - time.Second)
			synctest.Wait()
			require.Len(t, srv.ShutdownCalls(), shutdowns, "no re-init before %s", wait)
			time.Sleep(2 * time.Second) // the event loop notices the loss within EventWait
			synctest.Wait()
			require.Len(t, srv.ShutdownCalls(), shutdowns+1, "re-init after %s", wait)
			scrape() // still lost
		}
		cancel()
		require.NoError(t, <-done)
	})
}

// TestGPUSimulatedClock: a simulated box on a simulated clock (NewSimulatedWorkAt) read by
// a collector on the same clock (CollectorOptions.Now), as the demo's backfill reads it:
// gathers 30 simulated seconds apart, taken at once in real time, each report a new GPM
// window, and the energy counter integrates the power over simulated time.
func TestGPUSimulatedClock(t *testing.T) {
	var clock atomic.Int64
	t0 := time.Unix(1_800_000_000, 0)
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	work := func(i int) SimulatedWork {
		if i == 1 {
			return SimulatedWork{Busy: 1, Compute: 1} // prefill: compute-bound
		}
		return SimulatedWork{} // idle: 72 W
	}
	c, err := NewCollector(CollectorOptions{Library: NewSimulatedWorkAt(work, now), Now: now, Hostname: "demo"})
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	// gather returns GPU gpu's values by metric name.
	gather := func(gpu string) map[string]float64 {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		out := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "gpu" && l.GetValue() == gpu {
						out[mf.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
					}
				}
			}
		}
		return out
	}
	// The first gather only primes the GPM sample.
	require.NotContains(t, gather("1"), "gpu_gpm_sm_activity_percent")
	for step := 1; step <= 3; step++ {
		clock.Store(t0.Add(time.Duration(step) * 30 * time.Second).UnixNano())
		idle, busy := gather("0"), gather("1")
		// 72 W for 30 simulated seconds a step (the second gather, at the same time, adds nothing).
		require.InDelta(t, float64(step)*72*30, idle["gpu_energy_joules_total"], 1e-3, "step %d", step)
		require.Contains(t, busy, "gpu_gpm_sm_activity_percent", "step %d: a new GPM window every 30 simulated seconds", step)
		require.Greater(t, busy["gpu_gpm_sm_activity_percent"], 80.0, "step %d", step)
		require.Less(t, busy["gpu_gpm_dram_bandwidth_utilization_percent"], 30.0, "step %d", step)
	}
}
