//go:build linux

package procmap

import (
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// listen opens a real listening socket in the test process and returns its port.
func listen(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// closedPort returns a loopback port that nothing listens on (it was free a moment ago).
func closedPort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())
	return port
}

// startChild starts `sleep` as a child of the test process (a stand-in for vLLM's engine
// core under its API server) and returns its PID.
func startChild(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	require.NoError(t, cmd.Start(), "starting sleep (coreutils)")
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

// TestReadProc finds the test process as the listener of its own socket, its child in the
// process tree, and nobody on a closed port.
func TestReadProc(t *testing.T) {
	port, closed := listen(t), closedPort(t)
	child := startChild(t)

	snap, err := readProc("/proc", map[uint16]bool{port: true, closed: true})
	require.NoError(t, err)
	require.Equal(t, []int{os.Getpid()}, snap.listeners[port])
	require.Empty(t, snap.listeners[closed])

	tree := snap.tree(snap.listeners[port])
	require.True(t, tree[os.Getpid()], "the listener is in its own tree")
	require.True(t, tree[child], "the child process %d is in the listener's tree", child)
	require.False(t, tree[os.Getppid()], "the parent of the listener is not")
}

// TestParentPID parses the ppid after a command name holding spaces and parentheses.
func TestParentPID(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/stat"
	require.NoError(t, os.WriteFile(p, []byte("4242 (vllm (engine) 0) S 4100 4242 4242 0 -1 4194560 0 0\n"), 0o600))
	ppid, ok := parentPID(p)
	require.True(t, ok)
	require.Equal(t, 4100, ppid)
	_, ok = parentPID(dir + "/missing")
	require.False(t, ok)
}

// BenchmarkReadProc is one walk of this machine's /proc for one listening port
// (`go test ./gpu/procmap/ -run '^$' -bench ReadProc`).
func BenchmarkReadProc(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	b.Cleanup(func() { _ = l.Close() })
	ports := map[uint16]bool{uint16(l.Addr().(*net.TCPAddr).Port): true}
	entries, err := os.ReadDir("/proc")
	require.NoError(b, err)
	b.ReportMetric(float64(len(entries)), "proc-entries")
	for b.Loop() {
		if _, err := readProc("/proc", ports); err != nil {
			b.Fatal(err)
		}
	}
}
