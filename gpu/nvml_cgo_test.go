//go:build linux && cgo

package gpu

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// The real cgo path of go-nvml, without a GPU: the test builds a small libnvidia-ml.so.1
// from testdata/nvml_stub.c (against go-nvml's own nvml.h) and points NewNVML at it, so
// dlopen, go-nvml's symbol lookup, nvmlInit_v2, the device loop, the event set and the error
// handling all run for real. Each case runs in a child process: go-nvml keeps the loaded
// library and its versioned symbols in package state, a missing symbol that were called
// would kill the process (exit 127) rather than fail a test, and the stub is steered by
// environment variables.

const (
	stubCaseEnv = "TOKENPATH_GPU_STUB_CASE"
	stubLibEnv  = "TOKENPATH_GPU_STUB_LIB"
)

func TestGPURealNVMLPath(t *testing.T) {
	if os.Getenv(stubCaseEnv) != "" {
		t.Skip("the child process runs TestGPURealNVMLChild only")
	}
	// gcc builds the stub libnvidia-ml; go locates go-nvml's nvml.h.
	gcc := testbin.RequirePeer(t, "gcc", "gcc")
	goBin := testbin.RequirePeer(t, "go", "golang-go")
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/NVIDIA/go-nvml").Output()
	require.NoError(t, err)
	include := filepath.Join(strings.TrimSpace(string(out)), "pkg", "nvml")

	dir := t.TempDir()
	build := func(name string, defs ...string) string {
		lib := filepath.Join(dir, name, "libnvidia-ml.so.1")
		require.NoError(t, os.MkdirAll(filepath.Dir(lib), 0o755))
		args := append([]string{
			"-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-Wno-deprecated-declarations",
			"-I", include, "-o", lib,
		}, defs...)
		args = append(args, filepath.Join("testdata", "nvml_stub.c"))
		b, err := exec.Command(gcc, args...).CombinedOutput()
		require.NoError(t, err, "gcc: %s", b)
		return lib
	}
	full := build("full")
	noPower := build("nopower", "-DOMIT_POWER", "-DTEMPERATURE_V_ONLY")

	for _, tc := range []struct {
		name string
		lib  string
		env  []string
	}{
		{name: "no library", lib: filepath.Join(dir, "absent", "libnvidia-ml.so.1")},
		{name: "driver not loaded", lib: full, env: []string{"NVML_STUB_INIT=9"}},
		{name: "no permission", lib: full, env: []string{"NVML_STUB_INIT=4"}},
		{name: "two GPUs", lib: full},
		{name: "GPU lost mid-run", lib: full},
		{name: "symbol missing", lib: noPower},
		{name: "xid event", lib: full, env: []string{"NVML_STUB_XID=43"}},
		{name: "NVML hangs mid-run", lib: full, env: []string{"NVML_STUB_HANG=" + filepath.Join(dir, "hang")}},
		{name: "NVML fails mid-run", lib: full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestGPURealNVMLChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), stubCaseEnv+"="+tc.name, stubLibEnv+"="+tc.lib)
			cmd.Env = append(cmd.Env, tc.env...)
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "child process:\n%s", b)
			require.Contains(t, string(b), "--- PASS: TestGPURealNVMLChild", "child process:\n%s", b)
		})
	}
}

// stubLabels are the native labels of stub GPU i.
func stubLabels(i int) string {
	return fmt.Sprintf(`gpu="%d",name="NVIDIA Stub GPU",pci_bus_id="00000000:%02X:00.0",uuid="GPU-57ab0000-0000-4000-8000-00000000000%d"`, i, 0x41+i, i)
}

// stubFamily renders one family of the stub's GPUs: values[i] for GPU i, skipped when "".
func stubFamily(name, typ, help string, values ...string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	for i, v := range values {
		if v != "" {
			fmt.Fprintf(&sb, "%s{%s} %s\n", name, stubLabels(i), v)
		}
	}
	return sb.String()
}

const upHelp = "1 when NVML is initialised and lists the GPUs, 0 when it is not usable (no driver, no cgo, version mismatch)."

func TestGPURealNVMLChild(t *testing.T) {
	tc := os.Getenv(stubCaseEnv)
	if tc == "" {
		t.Skip("run by TestGPURealNVMLPath in a child process")
	}
	logs := &testbin.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() { t.Logf("collector logs:\n%s", logs) })
	lib := NewNVML(logger, os.Getenv(stubLibEnv))
	c, err := NewCollector(CollectorOptions{
		Library: lib, Logger: logger, DCGMNames: true, Hostname: "stub-host",
		RetryInterval: 20 * time.Millisecond, EventWait: 10 * time.Millisecond,
		CollectTimeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	run := func() { runCollector(t, c) }
	compare := func(want string, names ...string) {
		t.Helper()
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), names...))
	}
	upBoth := "# HELP tokenpath_gpu_up " + upHelp + "\n# TYPE tokenpath_gpu_up gauge\ntokenpath_gpu_up 1\n"
	deviceUp := func(a, b string) string {
		return stubFamily("tokenpath_gpu_device_up", "gauge",
			"1 when the GPU answers NVML, 0 when it is lost (ERROR_GPU_IS_LOST, Xid 79) or fails to identify itself.", a, b)
	}

	switch tc {
	case "no library", "driver not loaded", "no permission":
		require.False(t, c.Available())
		compare("# HELP tokenpath_gpu_up " + upHelp + "\n# TYPE tokenpath_gpu_up gauge\ntokenpath_gpu_up 0\n")
		wantErr := map[string]string{
			"no library": "ERROR_LIBRARY_NOT_FOUND", "driver not loaded": "ERROR_DRIVER_NOT_LOADED",
			// A service user without the devices: the one line names them and the fix.
			"no permission": "ERROR_NO_PERMISSION: user " + strconv.Itoa(os.Getuid()) + " may not open the NVIDIA devices (/dev/nvidiactl, /dev/nvidia*); add it to the group",
		}[tc]
		require.Contains(t, logs.String(), "NVML unavailable; GPU metrics are off")
		require.Contains(t, logs.String(), wantErr)
		run() // keeps retrying Init without calling anything else
		time.Sleep(100 * time.Millisecond)
		require.False(t, c.Available())
		require.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "the failure is logged once")

	case "two GPUs":
		require.True(t, c.Available())
		_, err := reg.Gather()
		require.NoError(t, err)
		compare(upBoth+deviceUp("1", "1")+
			stubFamily("gpu_vram_used_bytes", "gauge", "Framebuffer memory allocated by processes, in bytes (nvmlDeviceGetMemoryInfo_v2 used).", "4.294967296e+10", "4.4023414784e+10")+
			stubFamily("gpu_vram_reserved_bytes", "gauge", "Framebuffer memory reserved by the driver and firmware, in bytes.", "5.36870912e+08", "5.36870912e+08")+
			stubFamily("gpu_compute_utilization", "gauge", "Percent (0-100) of the last sample window in which at least one kernel ran (NVML utilization.gpu); busy time, not SM occupancy.", "40", "41")+
			stubFamily("gpu_temperature_celsius", "gauge", "GPU core temperature in degrees Celsius.", "50", "51")+
			stubFamily("gpu_power_draw_watts", "gauge", "Board power draw in watts.", "250", "251")+
			stubFamily("gpu_energy_joules_total", "counter", "Energy used since the driver was loaded, in joules.", "123456.789", "123456.79")+
			stubFamily("gpu_sm_clock_hertz", "gauge", "Current SM clock in hertz.", "1.755e+09", "1.755e+09")+
			stubFamily("gpu_pcie_throughput_bytes_per_second", "gauge", "PCIe traffic over a 20 ms window, in bytes per second.")+
			stubFamily("gpu_remapped_rows_total", "counter", "HBM rows remapped, by cause.")+
			stubFamily("gpu_gpm_sm_activity_percent", "gauge", "GPM: percent of time SMs had at least one resident warp, averaged over SMs (Hopper+).")+
			`# HELP gpu_process_memory_used_bytes GPU memory used by a process with a compute context, in bytes.
# TYPE gpu_process_memory_used_bytes gauge
gpu_process_memory_used_bytes{gpu="0",name="NVIDIA Stub GPU",pci_bus_id="00000000:41:00.0",pid="4242",process_name="vllm-4242",uuid="GPU-57ab0000-0000-4000-8000-000000000000"} 4.294967296e+10
gpu_process_memory_used_bytes{gpu="1",name="NVIDIA Stub GPU",pci_bus_id="00000000:42:00.0",pid="4243",process_name="vllm-4243",uuid="GPU-57ab0000-0000-4000-8000-000000000001"} 4.294967296e+10
# HELP gpu_info GPU identity; always 1.
# TYPE gpu_info gauge
gpu_info{driver_version="580.65.06",`+stubLabels(0)+`} 1
gpu_info{driver_version="580.65.06",`+stubLabels(1)+`} 1
# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{DCGM_FI_DRIVER_VERSION="580.65.06",Hostname="stub-host",UUID="GPU-57ab0000-0000-4000-8000-000000000000",device="nvidia0",gpu="0",modelName="NVIDIA Stub GPU",pci_bus_id="00000000:41:00.0"} 40960
DCGM_FI_DEV_FB_USED{DCGM_FI_DRIVER_VERSION="580.65.06",Hostname="stub-host",UUID="GPU-57ab0000-0000-4000-8000-000000000001",device="nvidia1",gpu="1",modelName="NVIDIA Stub GPU",pci_bus_id="00000000:42:00.0"} 41984
`, "tokenpath_gpu_up", "tokenpath_gpu_device_up", "gpu_vram_used_bytes", "gpu_vram_reserved_bytes",
			"gpu_compute_utilization", "gpu_temperature_celsius", "gpu_power_draw_watts", "gpu_energy_joules_total",
			"gpu_sm_clock_hertz", "gpu_pcie_throughput_bytes_per_second", "gpu_remapped_rows_total",
			"gpu_gpm_sm_activity_percent", "gpu_process_memory_used_bytes", "gpu_info", "DCGM_FI_DEV_FB_USED")
		// Symbols the stub does not export were reported, not called.
		require.Contains(t, logs.String(), "function=nvmlDeviceGetRemappedRows")
		require.Contains(t, logs.String(), "function=nvmlGpmSampleAlloc")

	case "GPU lost mid-run":
		run()
		compare(upBoth+deviceUp("1", "1"), "tokenpath_gpu_up", "tokenpath_gpu_device_up")
		t.Setenv("NVML_STUB_LOST", "1")
		used := "Framebuffer memory allocated by processes, in bytes (nvmlDeviceGetMemoryInfo_v2 used)."
		compare(upBoth+deviceUp("1", "0")+stubFamily("gpu_vram_used_bytes", "gauge", used, "4.294967296e+10", ""),
			"tokenpath_gpu_up", "tokenpath_gpu_device_up", "gpu_vram_used_bytes")
		// Run shuts NVML down and initialises it again (dlclose, then dlopen) until the GPU is back.
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "NVML re-initialised") },
			10*time.Second, 10*time.Millisecond)
		os.Unsetenv("NVML_STUB_LOST")
		require.Eventually(t, func() bool {
			return testutil.GatherAndCompare(reg, strings.NewReader(upBoth+deviceUp("1", "1")+
				stubFamily("gpu_vram_used_bytes", "gauge", used, "4.294967296e+10", "4.4023414784e+10")),
				"tokenpath_gpu_up", "tokenpath_gpu_device_up", "gpu_vram_used_bytes") == nil
		}, 10*time.Second, 10*time.Millisecond)
		require.Equal(t, 1, strings.Count(logs.String(), "GPU lost;"), "the loss is logged once, not every scrape")
		require.Contains(t, logs.String(), "GPU answers again")

	case "symbol missing":
		require.True(t, c.Available())
		compare(upBoth+deviceUp("1", "1")+
			stubFamily("gpu_power_draw_watts", "gauge", "Board power draw in watts.")+
			stubFamily("gpu_power_limit_watts", "gauge", "Power limit the driver enforces, in watts.", "350", "350")+
			stubFamily("gpu_temperature_celsius", "gauge", "GPU core temperature in degrees Celsius.", "50", "51"),
			"tokenpath_gpu_up", "tokenpath_gpu_device_up", "gpu_power_draw_watts", "gpu_power_limit_watts", "gpu_temperature_celsius")
		require.Equal(t, 1, strings.Count(logs.String(), "function=nvmlDeviceGetPowerUsage"), "logged once for both GPUs")
		// The temperature came through nvmlDeviceGetTemperatureV, the deprecated call being absent.
		require.NotContains(t, logs.String(), "function=nvmlDeviceGetTemperature")

	case "xid event":
		run()
		want := `# HELP gpu_xid_errors_total Xid critical errors seen since tokenpath started, by Xid code.
# TYPE gpu_xid_errors_total counter
gpu_xid_errors_total{gpu="1",name="NVIDIA Stub GPU",pci_bus_id="00000000:42:00.0",uuid="GPU-57ab0000-0000-4000-8000-000000000001",xid="43"} 1
`
		require.Eventually(t, func() bool {
			return testutil.GatherAndCompare(reg, strings.NewReader(want), "gpu_xid_errors_total") == nil
		}, 10*time.Second, 10*time.Millisecond)
		require.Contains(t, logs.String(), "uuid=GPU-57ab0000-0000-4000-8000-000000000001 xid=43")

	case "NVML hangs mid-run", "NVML fails mid-run":
		// Another collector on the same registry stands for the rest of tokenpath's self-scrape.
		other := prometheus.NewGauge(prometheus.GaugeOpts{Name: "other_up", Help: "Another collector."})
		other.Set(1)
		reg.MustRegister(other)
		otherUp := "# HELP other_up Another collector.\n# TYPE other_up gauge\nother_up 1\n"
		upZero := "# HELP tokenpath_gpu_up " + upHelp + "\n# TYPE tokenpath_gpu_up gauge\ntokenpath_gpu_up 0\n"
		run()
		compare(otherUp+upBoth+deviceUp("1", "1"), "other_up", "tokenpath_gpu_up", "tokenpath_gpu_device_up")
		want := "NVML cannot list the GPUs"
		if tc == "NVML hangs mid-run" {
			want = "NVML did not answer in time"
			hang := os.Getenv("NVML_STUB_HANG")
			require.NoError(t, os.WriteFile(hang, nil, 0o600))
			// nvmlDeviceGetMemoryInfo_v2 now blocks: the gather gives up at CollectTimeout rather
			// than waiting for it (the stub would block for a minute), and a second scrape does
			// not queue behind the stuck call.
			for range 3 {
				compare(otherUp+upZero, "other_up", "tokenpath_gpu_up", "tokenpath_gpu_device_up")
			}
			require.NoError(t, os.Remove(hang))
		} else {
			t.Setenv("NVML_STUB_COUNT", "999") // NVML_ERROR_UNKNOWN
			for range 3 {
				compare(otherUp+upZero, "other_up", "tokenpath_gpu_up", "tokenpath_gpu_device_up")
			}
			os.Unsetenv("NVML_STUB_COUNT")
		}
		require.Eventually(t, func() bool {
			return testutil.GatherAndCompare(reg, strings.NewReader(otherUp+upBoth+deviceUp("1", "1")),
				"other_up", "tokenpath_gpu_up", "tokenpath_gpu_device_up") == nil
		}, 10*time.Second, 10*time.Millisecond)
		require.Equal(t, 1, strings.Count(logs.String(), want), "the failure is logged once, not every scrape")
		require.Equal(t, 1, strings.Count(logs.String(), "NVML answers again"))

	default:
		t.Fatalf("unknown case %q", tc)
	}
}

// TestGPURealDriver runs the collector against the machine's own driver. It skips where
// NVML cannot initialise (no GPU), so it only ever runs on a GPU host.
func TestGPURealDriver(t *testing.T) {
	if os.Getenv(stubCaseEnv) != "" {
		t.Skip("the child process runs TestGPURealNVMLChild only")
	}
	logs := &testbin.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := NewCollector(CollectorOptions{Library: NewNVML(logger, ""), Logger: logger, DCGMNames: true})
	require.NoError(t, err)
	if !c.Available() {
		// The one test that may skip: it needs a real NVIDIA driver and GPU,
		// which no development or CI machine of this project has.
		t.Skipf("needs a real NVIDIA driver: NVML does not initialise here:\n%s", logs)
	}
	t.Cleanup(func() { t.Logf("collector logs:\n%s", logs) }) // after the collector stops
	runCollector(t, c)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	_, err = reg.Gather() // primes GPM
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond) // GPM needs samples more than 100 ms apart
	mfs, err := reg.Gather()
	require.NoError(t, err)
	byName := map[string]int{}
	for _, mf := range mfs {
		byName[mf.GetName()] = len(mf.GetMetric())
	}
	out, err := testutil.CollectAndFormat(c, expfmt.TypeTextPlain)
	require.NoError(t, err)
	t.Logf("exposition:\n%s", out)
	n := byName["tokenpath_gpu_device_up"]
	require.Positive(t, n)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(
		"# HELP tokenpath_gpu_up "+upHelp+"\n# TYPE tokenpath_gpu_up gauge\ntokenpath_gpu_up 1\n",
	), "tokenpath_gpu_up"))
	for _, name := range []string{
		"gpu_info", "gpu_vram_total_bytes", "gpu_vram_used_bytes", "gpu_temperature_celsius",
		"gpu_power_draw_watts", "gpu_sm_clock_hertz", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_TEMP",
	} {
		require.Equal(t, n, byName[name], "%s: one series per GPU", name)
	}
}
