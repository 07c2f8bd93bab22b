package main_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// peer is a real program the fleet tests talk to on loopback (Debian's
// prometheus, promtool, victoria-metrics). It can be stopped and started
// again on the same address and data directory, as an outage would.
type peer struct {
	t     testing.TB
	name  string
	bin   string
	args  []string
	Addr  string
	ready string // path answering 200 once it serves
	logs  *testbin.LogBuffer
	cmd   *exec.Cmd
	done  chan struct{}
}

// requirePeer fails (never skips) when a peer program is missing, naming the
// Debian package that provides it.
func requirePeer(t testing.TB, bin, pkg string) {
	t.Helper()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is needed by this test: apt-get install -y %s (%v)", bin, pkg, err)
	}
}

// startPeer runs bin with args (which must make it listen on addr) and waits
// for its ready path. It is stopped when the test ends.
func startPeer(t testing.TB, name, bin, pkg, addr, ready string, args ...string) *peer {
	t.Helper()
	requirePeer(t, bin, pkg)
	p := &peer{t: t, name: name, bin: bin, args: args, Addr: addr, ready: ready, logs: &testbin.LogBuffer{}}
	p.start()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, tail(p.logs.String(), 10000))
		}
	})
	return p
}

func (p *peer) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(p.t, p.cmd.Start(), "starting %s", p.name)
	done := make(chan struct{})
	p.done = done
	cmd := p.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	waitFor(p.t, 60*time.Second, p.name+" to be ready", func() (bool, string) {
		select {
		case <-done:
			p.t.Fatalf("%s exited:\n%s", p.name, tail(p.logs.String(), 5000))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Addr+p.ready, http.NoBody)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// stop ends the peer with SIGTERM (SIGKILL after 20s); a stopped peer stays
// stopped.
func (p *peer) stop() {
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

// api is a Prometheus API client for the peer (Prometheus and
// VictoriaMetrics both serve /api/v1/query).
func (p *peer) api() promv1.API {
	p.t.Helper()
	c, err := promapi.NewClient(promapi.Config{Address: "http://" + p.Addr})
	require.NoError(p.t, err)
	return promv1.NewAPI(c)
}

// startDebianPrometheus runs Debian's Prometheus with cfg (YAML) on a fresh
// loopback port and data directory, plus extra flags.
func startDebianPrometheus(t testing.TB, cfg string, extra ...string) *peer {
	t.Helper()
	dir := t.TempDir()
	addr := testbin.FreePort(t)
	args := append([]string{
		"--config.file=" + writeFile(t, dir, "prometheus.yml", cfg),
		"--storage.tsdb.path=" + dir + "/data",
		"--web.listen-address=" + addr,
	}, extra...)
	return startPeer(t, "prometheus", prometheusBinary, "prometheus", addr, "/-/ready", args...)
}

// hostname is the machine's name: the default of the external label host.
func hostname(t testing.TB) string {
	t.Helper()
	h, err := os.Hostname()
	require.NoError(t, err)
	return h
}
