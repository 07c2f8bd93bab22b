//go:build linux && cgo

package procmap

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/gpu"
)

// newGPUs returns tokenpath's GPU collector over go-nvml's mock DGX H100 (8 GPUs, UUIDs
// GPU-…-0 to -7) whose compute process lists are procs[index] (graphics lists are empty).
// initErr, when set, makes nvmlInit fail as on a machine without a driver.
func newGPUs(t *testing.T, procs map[int][]uint32, initErr nvml.Return) *gpu.Collector {
	t.Helper()
	srv := dgxh100.New()
	for i, dev := range srv.Devices {
		d := dev.(*server.Device)
		d.UUID = fmt.Sprintf("GPU-00000000-0000-4000-8000-%012d", i)
		d.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			var ps []nvml.ProcessInfo
			for _, pid := range procs[i] {
				ps = append(ps, nvml.ProcessInfo{Pid: pid, UsedGpuMemory: 70 << 30})
			}
			return ps, nvml.SUCCESS
		}
		d.GetGraphicsRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.SUCCESS }
	}
	if initErr != nvml.SUCCESS {
		srv.InitFunc = func() nvml.Return { return initErr }
	}
	o := gpu.DefaultCollectorOptions()
	o.Library = gpu.NewNVMLFrom(nil, srv)
	c, err := gpu.NewCollector(o)
	require.NoError(t, err)
	return c
}

func uuid(i int) string { return fmt.Sprintf("GPU-00000000-0000-4000-8000-%012d", i) }

// exposition renders the expected series: gpus are "job|instance|gpu", mappings
// "job|instance|state".
func exposition(gpus, mappings []string) string {
	var b strings.Builder
	if len(gpus) > 0 {
		fmt.Fprintf(&b, "# HELP tokenpath_inference_target_gpu %s\n# TYPE tokenpath_inference_target_gpu gauge\n", helpTargetGPU)
		for _, g := range gpus {
			f := strings.Split(g, "|")
			var i int
			fmt.Sscan(f[2], &i)
			fmt.Fprintf(&b, "tokenpath_inference_target_gpu{gpu=%q,target_instance=%q,target_job=%q,uuid=%q} 1\n", f[2], f[1], f[0], uuid(i))
		}
	}
	fmt.Fprintf(&b, "# HELP tokenpath_inference_target_gpu_mapping %s\n# TYPE tokenpath_inference_target_gpu_mapping gauge\n", helpMapping)
	for _, m := range mappings {
		f := strings.Split(m, "|")
		fmt.Fprintf(&b, "tokenpath_inference_target_gpu_mapping{state=%q,target_instance=%q,target_job=%q} 1\n", f[2], f[1], f[0])
	}
	return b.String()
}

// TestCollector maps a real listening socket of the test process and its child process
// (`sleep`) to the GPUs go-nvml's mock lists them on.
func TestCollector(t *testing.T) {
	port, closed := listen(t), closedPort(t)
	child := uint32(startChild(t))
	self := uint32(os.Getpid())
	here := fmt.Sprintf("127.0.0.1:%d", port)
	byName := fmt.Sprintf("localhost:%d", port)
	nobody := fmt.Sprintf("127.0.0.1:%d", closed)
	targets := []Target{
		{Job: "vllm", Instance: here, Address: here},
		{Job: "vllm-by-name", Instance: "model-a", Address: byName},
		{Job: "sglang", Instance: nobody, Address: nobody},
		{Job: "tgi", Instance: "192.0.2.10:8000", Address: "192.0.2.10:8000"}, // TEST-NET-1: never this machine
	}
	others := []string{"sglang|" + nobody + "|unknown", "tgi|192.0.2.10:8000|remote"}

	cases := []struct {
		name     string
		procs    map[int][]uint32
		initErr  nvml.Return
		hostNS   bool
		gpus     []string
		mappings []string
	}{
		{
			// The engine core (the child) holds GPU 1; GPU 0 runs someone else's process,
			// GPU 3 the listener itself.
			name:   "listener and child on GPUs",
			procs:  map[int][]uint32{0: {999_999_999}, 1: {child}, 3: {self, child}},
			hostNS: true,
			gpus:   []string{"vllm|" + here + "|1", "vllm|" + here + "|3", "vllm-by-name|model-a|1", "vllm-by-name|model-a|3"},
			mappings: append([]string{
				"vllm|" + here + "|mapped", "vllm-by-name|model-a|mapped",
			}, others...),
		},
		{
			name:   "child only on GPU 1",
			procs:  map[int][]uint32{1: {child}},
			hostNS: true,
			gpus:   []string{"vllm|" + here + "|1", "vllm-by-name|model-a|1"},
			mappings: append([]string{
				"vllm|" + here + "|mapped", "vllm-by-name|model-a|mapped",
			}, others...),
		},
		{
			name:   "no GPU lists the server's processes",
			procs:  map[int][]uint32{0: {999_999_999}},
			hostNS: true,
			mappings: append([]string{
				"vllm|" + here + "|no_gpu_process", "vllm-by-name|model-a|no_gpu_process",
			}, others...),
		},
		{
			name:    "NVML unavailable",
			procs:   map[int][]uint32{1: {child}},
			initErr: nvml.ERROR_LIBRARY_NOT_FOUND,
			hostNS:  true,
			mappings: append([]string{
				"vllm|" + here + "|unknown", "vllm-by-name|model-a|unknown",
			}, others...),
		},
		{
			// In a container's PID namespace /proc's PIDs are not NVML's host PIDs.
			name:   "tokenpath in its own PID namespace",
			procs:  map[int][]uint32{1: {child}},
			hostNS: false,
			mappings: append([]string{
				"vllm|" + here + "|unknown", "vllm-by-name|model-a|unknown",
			}, others...),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCollector(t, targets, newGPUs(t, tc.procs, tc.initErr), tc.hostNS)
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, reg.Register(c))
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(exposition(tc.gpus, tc.mappings))))
			problems, err := testutil.CollectAndLint(c)
			require.NoError(t, err)
			require.Empty(t, problems, "promlint")
		})
	}
}

// blockingLister is an NVML that hangs until released, counting the calls.
type blockingLister struct {
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (b *blockingLister) RunningProcesses() ([]gpu.DeviceProcesses, error) {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	<-b.release
	return nil, errors.New("no GPUs here")
}

func (b *blockingLister) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// TestCollectorBounded: a hung NVML call leaves the scrape without the mapping rather than
// stalling it, concurrent scrapes share the one call in flight, the answer is served once it
// comes, and results are cached for RefreshInterval.
func TestCollectorBounded(t *testing.T) {
	port := listen(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	synctest.Test(t, func(t *testing.T) {
		nvmlHang := &blockingLister{release: make(chan struct{})}
		c, err := New(Options{
			Targets: func() []Target { return []Target{{Job: "vllm", Instance: addr, Address: addr}} },
			GPUs:    nvmlHang, RefreshInterval: 15 * time.Second, Timeout: 3 * time.Second,
		})
		require.NoError(t, err)
		c.hostPIDNamespace = func() (bool, error) { return true, nil }
		c.interfaceAddrs = func() ([]net.Addr, error) { return nil, nil }
		reg := prometheus.NewPedanticRegistry()
		require.NoError(t, reg.Register(c))

		// Two scrapes while NVML hangs: neither gets the mapping, one call in flight.
		for range 2 {
			n, err := testutil.GatherAndCount(reg)
			require.NoError(t, err)
			require.Zero(t, n)
		}
		require.Equal(t, 1, nvmlHang.count())

		close(nvmlHang.release)
		synctest.Wait()
		want := exposition(nil, []string{"vllm|" + addr + "|unknown"})
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))
		require.Equal(t, 1, nvmlHang.count(), "the late answer is served, not asked again")

		// Cached until RefreshInterval has passed since that refresh started.
		time.Sleep(5 * time.Second)
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))
		require.Equal(t, 1, nvmlHang.count())
		time.Sleep(15 * time.Second)
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))
		require.Equal(t, 2, nvmlHang.count())
	})
}

// TestIsLocal tells this machine's addresses from others without a resolver for IPs.
func TestIsLocal(t *testing.T) {
	ifaces := func() ([]net.Addr, error) {
		return []net.Addr{&net.IPNet{IP: net.ParseIP("10.1.2.3"), Mask: net.CIDRMask(24, 32)}}, nil
	}
	cases := map[string]bool{
		"127.0.0.1": true, "::1": true, "0.0.0.0": true, "localhost": true, "LOCALHOST.": true,
		"10.1.2.3": true, "::ffff:10.1.2.3": true, "10.1.2.4": false, "192.0.2.10": false, "2001:db8::1": false,
	}
	for host, want := range cases {
		got, err := isLocal(t.Context(), host, ifaces)
		require.NoError(t, err, host)
		require.Equal(t, want, got, host)
	}
}
