package procmap

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/gpu"
)

// fakeProc writes a /proc with the parts procmap reads: a vLLM API server (100) listening on
// 0.0.0.0:8000 with its engine core (101) and two tensor-parallel workers (102, 103); an
// unrelated process (200); docker-proxy (300) holding port 9000 for a container; an SGLang
// server (400) listening on [::]:8001 only.
func fakeProc(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	}
	const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	write("net/tcp", header+
		"   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0000000000000000 100 0 0 10 0\n"+
		// An accepted connection on port 8000: not a listener.
		"   1: 0100007F:1F40 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 222 1 0000000000000000 20 4 30 10 -1\n"+
		"   2: 00000000:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0\n")
	write("net/tcp6", header+
		"   0: 00000000000000000000000000000000:1F41 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 444 1 0000000000000000 100 0 0 10 0\n")
	procs := []struct {
		pid, ppid int
		comm      string
		sockets   []int
	}{
		{100, 1, "vllm", []int{111, 222}},
		{101, 100, "VLLM::EngineCor", nil},
		{102, 101, "VllmWorker TP0", nil},
		{103, 101, "VllmWorker TP1", nil},
		{200, 1, "python3", nil},
		{300, 1, "docker-proxy", []int{333}},
		{400, 1, "sglang::schedul", []int{444}},
	}
	for _, p := range procs {
		dir := strconv.Itoa(p.pid)
		// The command name holds spaces and parentheses: fields count from the last ')'.
		write(dir+"/stat", strconv.Itoa(p.pid)+" ("+p.comm+" (x)) S "+strconv.Itoa(p.ppid)+" 1 1 0 -1 4194560\n")
		write(dir+"/comm", p.comm+"\n")
		require.NoError(t, os.MkdirAll(filepath.Join(root, dir, "fd"), 0o755))
		require.NoError(t, os.Symlink("/dev/null", filepath.Join(root, dir, "fd", "0")))
		for i, inode := range p.sockets {
			require.NoError(t, os.Symlink("socket:["+strconv.Itoa(inode)+"]", filepath.Join(root, dir, "fd", strconv.Itoa(3+i))))
		}
	}
	require.NoError(t, os.Symlink("100", filepath.Join(root, "self")))
	return root
}

// newTestCollector is New with the host-PID-namespace check answering hostNS: the mock
// NVML reports the PIDs /proc shows, which is what a host PID namespace guarantees.
func newTestCollector(t *testing.T, targets []Target, gpus ProcessLister, hostNS bool) *Collector {
	t.Helper()
	c, err := New(Options{Targets: func() []Target { return targets }, GPUs: gpus})
	require.NoError(t, err)
	c.hostPIDNamespace = func() (bool, error) { return hostNS, nil }
	return c
}

type listedGPUs []gpu.DeviceProcesses

func (l listedGPUs) RunningProcesses() ([]gpu.DeviceProcesses, error) { return l, nil }

// TestMapTargetsFakeProc maps targets over a written /proc: the tree below the listener,
// IPv6 listeners, docker-proxy and a port nobody listens on.
func TestMapTargetsFakeProc(t *testing.T) {
	gpus := listedGPUs{
		{Index: 0, UUID: "GPU-0", PIDs: []uint32{102}},
		{Index: 1, UUID: "GPU-1", PIDs: []uint32{200, 103}},
		{Index: 2, UUID: "GPU-2", PIDs: []uint32{400}},
		{Index: 3, UUID: "GPU-3", PIDs: []uint32{999}},
		{Index: 4, UUID: "GPU-4", PIDs: []uint32{300}}, // not the container's server: never reached
	}
	c := newTestCollector(t, nil, gpus, true)
	c.procRoot = fakeProc(t)
	got := c.mapTargets(t.Context(), []Target{
		{Job: "vllm", Instance: "a", Address: "127.0.0.1:8000"},
		{Job: "vllm", Instance: "a", Address: "127.0.0.1:8000"}, // listed twice: one result
		{Job: "tgi", Instance: "b", Address: "localhost:9000"},
		{Job: "sglang", Instance: "c", Address: "[::1]:8001"},
		{Job: "llamacpp", Instance: "d", Address: "127.0.0.1:8002"},
		{Job: "vllm", Instance: "e", Address: "no-port"},
	})
	type row struct {
		Instance, State string
		GPUs            []int
	}
	var rows []row
	for _, r := range got {
		var idx []int
		for _, g := range r.gpus {
			idx = append(idx, g.Index)
		}
		rows = append(rows, row{r.Instance, r.state, idx})
	}
	require.Equal(t, []row{
		{"a", StateMapped, []int{0, 1}},
		{"b", StateUnknown, nil},
		{"c", StateMapped, []int{2}},
		{"d", StateUnknown, nil},
		{"e", StateUnknown, nil},
	}, rows)
	require.Contains(t, got[1].reason, "docker-proxy")
}
