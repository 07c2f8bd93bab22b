package testbin

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// Peer is a real program a test talks to on loopback: Debian's Prometheus,
// Alertmanager or VictoriaMetrics, or a tokenpath the test built (a
// simulator, `tokenpath fleet`). It can be stopped and started again on the
// same address and data directory, as an outage would.
type Peer struct {
	tb   testing.TB
	opts PeerOptions
	logs LogBuffer
	cmd  *exec.Cmd
	done chan struct{}
	// state is the last run's exit, stored before done is closed.
	state atomic.Pointer[os.ProcessState]
}

// PeerOptions describes how to run a peer and how to tell it is ready.
type PeerOptions struct {
	Name    string // For messages, e.g. "prometheus".
	Command string // A command on PATH or an absolute path.
	// Package is the Debian package that provides Command; empty for a
	// program the test built itself (Binary), which is never missing.
	Package string
	Args    []string // Must make the program listen on Addr.
	Env     []string // The whole environment; nil inherits this process's.
	Addr    string   // host:port the program listens on.
	// ReadyPath answers 200 once the program serves (e.g. /-/ready).
	ReadyPath string
	// ReadyTimeout bounds the wait for ReadyPath (default 60s).
	ReadyTimeout time.Duration
}

// StartPeer runs a peer, waits until its ready path answers 200 and stops it
// when the test ends, logging its output if the test failed.
func StartPeer(tb testing.TB, o PeerOptions) *Peer {
	tb.Helper()
	p := LaunchPeer(tb, o)
	p.WaitReady(p.opts.ReadyTimeout, nil)
	return p
}

// LaunchPeer is StartPeer without the wait: the program runs when it
// returns, and is stopped when the test ends.
func LaunchPeer(tb testing.TB, o PeerOptions) *Peer {
	tb.Helper()
	if o.Package != "" {
		o.Command = RequirePeer(tb, o.Command, o.Package)
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	p := &Peer{tb: tb, opts: o}
	p.Launch()
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("%s logs:\n%s", o.Name, Tail(p.logs.String(), 10000))
		}
	})
	return p
}

// Name is the peer's name in messages, e.g. "prometheus".
func (p *Peer) Name() string { return p.opts.Name }

// Addr is the host:port the peer listens on.
func (p *Peer) Addr() string { return p.opts.Addr }

// URL is the peer's base URL.
func (p *Peer) URL() string { return "http://" + p.opts.Addr }

// API is a Prometheus HTTP API client of the peer (Prometheus,
// VictoriaMetrics and tokenpath all serve /api/v1).
func (p *Peer) API() promv1.API {
	p.tb.Helper()
	c, err := promapi.NewClient(promapi.Config{Address: p.URL()})
	if err != nil {
		p.tb.Fatalf("API client of %s: %v", p.opts.Name, err)
	}
	return promv1.NewAPI(c)
}

// Logs returns what the peer has written so far, across restarts.
func (p *Peer) Logs() string { return p.logs.String() }

// Start runs the program (again, after Stop) and waits until it is ready.
func (p *Peer) Start() {
	p.tb.Helper()
	p.Launch()
	p.WaitReady(p.opts.ReadyTimeout, nil)
}

// Launch runs the program (again, after Stop) and returns at once, for a
// test that watches it fail to start or waits for it in its own way.
func (p *Peer) Launch() {
	p.tb.Helper()
	cmd := exec.Command(p.opts.Command, p.opts.Args...)
	cmd.Env = p.opts.Env
	cmd.Stdout, cmd.Stderr = &p.logs, &p.logs
	if err := cmd.Start(); err != nil {
		p.tb.Fatalf("starting %s: %v", p.opts.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		_ = cmd.Wait()
		p.state.Store(cmd.ProcessState)
		close(done)
	}()
}

// WaitReady polls every 100ms until edit's request to the ready path
// answers 200 (edit may add credentials; nil sends it as it is), failing
// the test when the program exits first or timeout passes.
func (p *Peer) WaitReady(timeout time.Duration, edit func(*http.Request)) {
	p.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			p.tb.Fatalf("%s exited (%v) before it was ready:\n%s", p.opts.Name, p.state.Load(), Tail(p.logs.String(), 5000))
		default:
		}
		ok, status := p.answersReady(edit)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("%s not ready after %s (%s):\n%s", p.opts.Name, timeout, status, Tail(p.logs.String(), 5000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *Peer) answersReady(edit func(*http.Request)) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+p.opts.ReadyPath, http.NoBody)
	if err != nil {
		return false, err.Error()
	}
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK, resp.Status
}

// Pid is the process id of the running program.
func (p *Peer) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the running program (e.g. SIGHUP to reload).
func (p *Peer) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Stop ends the peer with SIGTERM (SIGKILL after 20s) and waits for it; a
// stopped peer stays stopped until Start.
func (p *Peer) Stop() { p.StopWith(syscall.SIGTERM, 20*time.Second) }

// StopWith sends sig, waits at most grace for the program to exit, then
// kills it. It returns the exit code (-1 for a death by signal), also when
// the program had already exited by itself.
func (p *Peer) StopWith(sig syscall.Signal, grace time.Duration) int {
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(sig)
			select {
			case <-p.done:
			case <-time.After(grace):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		p.cmd = nil
	}
	return p.state.Load().ExitCode()
}

// WaitExit waits at most d for the program to exit by itself and returns
// its exit code if it did.
func (p *Peer) WaitExit(d time.Duration) (exited bool, code int) {
	select {
	case <-p.done:
		return true, p.state.Load().ExitCode()
	case <-time.After(d):
		return false, 0
	}
}

// PrometheusOptions configures StartPrometheus.
type PrometheusOptions struct {
	Config string   // prometheus.yml contents (default: no scrape configs).
	Args   []string // Extra flags, e.g. --web.enable-remote-write-receiver.
	// DataDir defaults to a fresh directory under the test's temp dir.
	DataDir string
}

// StartPrometheus runs Debian's Prometheus with o.Config on a free loopback
// port and waits for /-/ready. The one place tests start a Prometheus.
func StartPrometheus(tb testing.TB, o PrometheusOptions) *Peer {
	tb.Helper()
	dir := tb.TempDir()
	if o.Config == "" {
		o.Config = "global: {}\n"
	}
	if o.DataDir == "" {
		o.DataDir = filepath.Join(dir, "data")
	}
	cfg := writeConfig(tb, dir, "prometheus.yml", o.Config)
	addr := FreePort(tb)
	args := append([]string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + o.DataDir,
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}, o.Args...)
	return StartPeer(tb, PeerOptions{
		Name: "prometheus", Command: "prometheus", Package: "prometheus",
		Args: args, Addr: addr, ReadyPath: "/-/ready",
	})
}

// AlertmanagerOptions configures StartAlertmanager.
type AlertmanagerOptions struct {
	// Config is alertmanager.yml (default: every alert, grouped after 1s, to
	// a receiver without integrations; tests read alerts from the v2 API).
	Config string
	// Addr is the host:port to listen on (default: a free loopback port).
	// An outage test stops one Alertmanager and passes its Addr here: the
	// new one answers on the same address with an empty state, which
	// Peer.Start (same data directory) would not give.
	Addr string
}

// StartAlertmanager runs Debian's Alertmanager, without clustering, with a
// fresh data directory, and waits for /-/ready. The one place tests start an
// Alertmanager.
func StartAlertmanager(tb testing.TB, o AlertmanagerOptions) *Peer {
	tb.Helper()
	dir := tb.TempDir()
	if o.Config == "" {
		o.Config = "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n"
	}
	cfg := writeConfig(tb, dir, "alertmanager.yml", o.Config)
	addr := o.Addr
	if addr == "" {
		addr = FreePort(tb)
	}
	return StartPeer(tb, PeerOptions{
		Name: "alertmanager", Command: "prometheus-alertmanager", Package: "prometheus-alertmanager",
		Args: []string{
			"--config.file=" + cfg,
			"--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr,
			"--cluster.listen-address=",
		},
		Addr: addr, ReadyPath: "/-/ready",
	})
}

// StartVictoriaMetrics runs Debian's VictoriaMetrics single-node on a free
// loopback port: remote write at /api/v1/write, Prometheus' query API at
// /api/v1/query. Its query cache is off and data is searchable at once
// (latencyOffset 0), so a test reads what was written, not a cached or
// delayed view.
func StartVictoriaMetrics(tb testing.TB) *Peer {
	tb.Helper()
	addr := FreePort(tb)
	return StartPeer(tb, PeerOptions{
		Name: "victoria-metrics", Command: "victoria-metrics", Package: "victoria-metrics",
		Args: []string{
			"-httpListenAddr=" + addr,
			"-storageDataPath=" + tb.TempDir(),
			"-retentionPeriod=1y",
			"-search.disableCache",
			"-search.latencyOffset=0s",
		},
		Addr: addr, ReadyPath: "/health",
	})
}

// writeConfig writes a peer's configuration file into dir.
func writeConfig(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatalf("writing %s: %v", path, err)
	}
	return path
}

// Tail returns the last n bytes of s, for logs in failure messages.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
