// Package testbin holds what the tests of several packages share: the
// tokenpath binary, built once per test binary and started on a free
// loopback port (Start); the real peers tests talk to — Debian's Prometheus,
// Alertmanager, VictoriaMetrics, tokenpath as simulator or fleet — started,
// stopped and restarted in one way (Peer); a log sink safe for concurrent
// writers (LogBuffer); an in-memory listener for testing/synctest bubbles
// (PipeListener); and a headless Chromium tab (Browser).
package testbin

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// builder holds the result of the one build per test binary. A package-level
// sync.Once is the only way to share one build between the tests of a package.
var builder struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of a freshly built tokenpath binary, building it on
// the first call. The build uses the module's own go command and build cache,
// and the Makefile's -ldflags, so the tests run a binary stamped as `make
// build` stamps it (version, revision, branch, build user and date).
func Binary(tb testing.TB) string {
	tb.Helper()
	builder.once.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			builder.err = err
			return
		}
		ldflags, err := makeLdflags(root)
		if err != nil {
			builder.err = err
			return
		}
		dir, err := os.MkdirTemp("", "tokenpath-testbin-")
		if err != nil {
			builder.err = err
			return
		}
		builder.path = filepath.Join(dir, "tokenpath")
		cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", builder.path, "./cmd/tokenpath")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			builder.err = fmt.Errorf("go build ./cmd/tokenpath: %w\n%s", err, out)
		}
	})
	if builder.err != nil {
		tb.Fatalf("building tokenpath: %v", builder.err)
	}
	return builder.path
}

// makeLdflags asks the Makefile for the -ldflags of a stamped build (its
// print-ldflags target), so the stamping is written down in one place.
func makeLdflags(root string) (string, error) {
	cmd := exec.Command("make", "-s", "--no-print-directory", "print-ldflags")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("make print-ldflags in %s (the Debian package make provides make): %w\n%s", root, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// ModuleRoot is the directory of the tokenpath module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the tokenpath module")
	}
	return filepath.Dir(gomod), nil
}

// FreePort returns a loopback address with a port that was free a moment ago.
func FreePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("finding a free port: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Process is a running tokenpath.
type Process struct {
	URL     string // Base URL, e.g. http://127.0.0.1:41234.
	Addr    string // host:port it listens on.
	DataDir string
	Cmd     *exec.Cmd
	logs    *LogBuffer
}

// Logs returns what the process has written to stdout and stderr so far.
func (p *Process) Logs() string { return p.logs.String() }

// Options for Start.
type Options struct {
	Args    []string // Extra flags; --web.listen-address and --storage.tsdb.path are added unless present.
	DataDir string   // Defaults to a fresh t.TempDir().
	Env     []string // Extra environment, KEY=VALUE.
	// ReadyTimeout bounds the wait for /-/ready (default 60s).
	ReadyTimeout time.Duration
}

// Start runs tokenpath with the given options, waits until /-/ready answers
// 200 and stops the process (SIGTERM, then SIGKILL) in t.Cleanup: a Peer
// whose program is the binary under test.
func Start(tb testing.TB, o Options) *Process {
	tb.Helper()
	bin := Binary(tb)
	if o.DataDir == "" {
		o.DataDir = tb.TempDir()
	}
	args := append([]string(nil), o.Args...)
	addr := ""
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--web.listen-address="); ok {
			addr = v
		}
	}
	if addr == "" {
		addr = FreePort(tb)
		args = append(args, "--web.listen-address="+addr)
	}
	if !hasFlag(args, "--storage.tsdb.path") {
		args = append(args, "--storage.tsdb.path="+o.DataDir)
	}
	peer := StartPeer(tb, PeerOptions{
		Name: "tokenpath", Command: bin, Args: args, Env: append(CleanEnv(), o.Env...),
		Addr: addr, ReadyPath: "/-/ready", ReadyTimeout: o.ReadyTimeout,
	})
	return &Process{URL: peer.URL(), Addr: addr, DataDir: o.DataDir, Cmd: peer.cmd, logs: &peer.logs}
}

// CleanEnv drops the seed's variables from the parent environment so that a
// developer's shell cannot change what a test starts.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "VLLM_ENDPOINT", "TGI_ENDPOINT", "SGLANG_ENDPOINT", "LLAMACPP_ENDPOINT", "PROMETHEUS_PORT", "GRAFANA_PORT", "SCRAPE_INTERVAL":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// LogBuffer collects a child process's output; safe for concurrent writes
// and reads.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RequirePeer returns the path of a program a test runs as its real peer
// (Prometheus, Alertmanager, Chromium, …) and fails the test when it is
// missing, with the command that installs it. Missing peers never skip a
// test: a suite that passes because its peers were absent tested nothing.
// name is a command or an absolute path; pkg is the Debian package with it.
func RequirePeer(tb testing.TB, name, pkg string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s is not installed: run `apt-get install -y --no-install-recommends %s` as root "+
			"(`make test` runs scripts/test-deps.sh, which installs every package the tests need)", name, pkg)
	}
	return path
}
