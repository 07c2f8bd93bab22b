package testbin

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Peer is a real program a test talks to on loopback: Debian's Prometheus,
// Alertmanager or VictoriaMetrics. It can be stopped and started again on
// the same address and data directory, as an outage would.
type Peer struct {
	tb   testing.TB
	opts PeerOptions
	logs LogBuffer
	cmd  *exec.Cmd
	done chan struct{}
}

// PeerOptions describes how to run a peer and how to tell it is ready.
type PeerOptions struct {
	Name    string   // For messages, e.g. "prometheus".
	Command string   // A command on PATH or an absolute path.
	Package string   // The Debian package that provides Command.
	Args    []string // Must make the program listen on Addr.
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
	o.Command = RequirePeer(tb, o.Command, o.Package)
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	p := &Peer{tb: tb, opts: o}
	p.Start()
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("%s logs:\n%s", o.Name, Tail(p.logs.String(), 10000))
		}
	})
	return p
}

// Addr is the host:port the peer listens on.
func (p *Peer) Addr() string { return p.opts.Addr }

// URL is the peer's base URL.
func (p *Peer) URL() string { return "http://" + p.opts.Addr }

// Logs returns what the peer has written so far, across restarts.
func (p *Peer) Logs() string { return p.logs.String() }

// Start runs the program (again, after Stop) and waits until it is ready.
func (p *Peer) Start() {
	p.tb.Helper()
	p.cmd = exec.Command(p.opts.Command, p.opts.Args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		p.tb.Fatalf("starting %s: %v", p.opts.Name, err)
	}
	done := make(chan struct{})
	p.done = done
	cmd := p.cmd
	go func() { _ = cmd.Wait(); close(done) }()

	deadline := time.Now().Add(p.opts.ReadyTimeout)
	last := "no answer yet"
	for {
		select {
		case <-done:
			p.tb.Fatalf("%s exited before it was ready:\n%s", p.opts.Name, Tail(p.logs.String(), 5000))
		default:
		}
		ok, status := p.answersReady()
		if ok {
			return
		}
		last = status
		if time.Now().After(deadline) {
			p.tb.Fatalf("%s not ready after %s (%s):\n%s", p.opts.Name, p.opts.ReadyTimeout, last, Tail(p.logs.String(), 5000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *Peer) answersReady() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+p.opts.ReadyPath, http.NoBody)
	if err != nil {
		return false, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK, resp.Status
}

// Stop ends the peer with SIGTERM (SIGKILL after 20s) and waits for it; a
// stopped peer stays stopped until Start.
func (p *Peer) Stop() {
	if p.cmd == nil {
		return
	}
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.cmd = nil
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
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(o.Config), 0o600); err != nil {
		tb.Fatalf("writing %s: %v", cfg, err)
	}
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

// Tail returns the last n bytes of s, for logs in failure messages.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
