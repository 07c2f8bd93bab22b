package main_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestDefaultScrapeLimits: with no limit in the configuration, a gzip bomb,
// an endless body, a target with too many series and one with a 1 MB label
// value are each down with Prometheus' error naming the limit, and nothing
// of theirs is stored; a normal target beside them is up.
func TestDefaultScrapeLimits(t *testing.T) {
	// 48 MiB of valid exposition lines, gzipped to well under 1 MiB: over the
	// 32 MiB default only once decompressed.
	var bomb bytes.Buffer
	zw, err := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	require.NoError(t, err)
	line := []byte("bomb_metric 1\n")
	for written := 0; written < 48<<20; written += len(line) * 1024 {
		_, err := zw.Write(bytes.Repeat(line, 1024))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.Less(t, bomb.Len(), 1<<20)

	mux := http.NewServeMux()
	mux.HandleFunc("/bomb", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(bomb.Bytes())
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		chunk := bytes.Repeat([]byte("endless_metric 1\n"), 4096)
		for range 1 << 14 { // bounded: ~1 GiB, far past the limit
			if r.Context().Err() != nil {
				return
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/series", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		bw := bufio.NewWriter(w)
		for i := range 60000 {
			fmt.Fprintf(bw, "many_series{i=\"%d\"} 1\n", i)
		}
		_ = bw.Flush()
	})
	mux.HandleFunc("/label", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "long_label{model=%q} 1\n", strings.Repeat("m", 1<<20))
	})
	mux.HandleFunc("/good", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "# TYPE good_metric gauge\ngood_metric{model=\"meta-llama/Llama-3.1-8B-Instruct\"} 1\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	job := func(name string) string {
		return fmt.Sprintf("- job_name: %s\n  metrics_path: /%s\n  static_configs:\n  - targets: [%q]\n    labels: {server: other}\n", name, name, hostOf(srv))
	}
	cfg := writeFile(t, t.TempDir(), "tokenpath.yml", "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\nscrape_configs:\n"+
		job("bomb")+job("endless")+job("series")+job("label")+job("good"))
	p := start(t, procOpts{args: []string{"--config.file=" + cfg}})
	api := p.api()

	for _, tc := range []struct{ job, want, stored string }{
		{"bomb", "body size limit exceeded", "bomb_metric"},
		{"endless", "body size limit exceeded", "endless_metric"},
		{"series", "sample limit exceeded", "many_series"},
		{"label", "label_value_length_limit exceeded", "long_label"},
	} {
		t.Run(tc.job, func(t *testing.T) {
			requireTargetDown(t, api, tc.job, tc.want, 60*time.Second)
			require.Empty(t, instant(t, api, tc.stored, time.Now()))
		})
	}
	t.Run("good", func(t *testing.T) {
		waitValue(t, api, `good_metric`, 1, 30*time.Second)
		require.Equal(t, promv1.HealthGood, target(t, api, "good").Health)
	})
	t.Run("a limit in the file wins", func(t *testing.T) {
		// The series target again, with a sample_limit of its own above 60000.
		cfg2 := writeFile(t, t.TempDir(), "tokenpath.yml", "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\nscrape_configs:\n"+
			job("series")+"  sample_limit: 70000\n")
		p2 := start(t, procOpts{args: []string{"--config.file=" + cfg2}})
		waitValue(t, p2.api(), `count(many_series)`, 60000, 60*time.Second)
	})
}

// listeners returns the local addresses (hex, as in /proc/net/tcp*) of the
// sockets listening on port.
func listeners(t *testing.T, port int) []string {
	t.Helper()
	var out []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			addr, hexPort, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				out = append(out, addr)
			}
		}
	}
	return out
}

// TestGrafanaPortBindsTheListenHost: with --web.listen-address on loopback,
// the GRAFANA_PORT listener is on loopback too, not on every interface.
func TestGrafanaPortBindsTheListenHost(t *testing.T) {
	_, grafanaPort, err := net.SplitHostPort(testbin.FreePort(t))
	require.NoError(t, err)
	p := start(t, procOpts{env: []string{"GRAFANA_PORT=" + grafanaPort}})
	port, err := strconv.Atoi(grafanaPort)
	require.NoError(t, err)
	// 0100007F is 127.0.0.1 in /proc/net/tcp's byte order.
	require.Equal(t, []string{"0100007F"}, listeners(t, port))
	resp, err := http.Get("http://127.0.0.1:" + grafanaPort + "/-/healthy")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(p.Addr, "127.0.0.1:"))
}

// TestFullDiskProcess: tokenpath's data directory is on a small tmpfs that
// the test fills. /-/ready turns 503 and says why, /metrics counts the
// failed writes, queries keep being answered, and once space returns it
// ingests again and is ready.
func TestFullDiskProcess(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tokenpath-test", dir).CombinedOutput()
	require.NoError(t, err, "mounting a tmpfs on %s needs root (CAP_SYS_ADMIN): %s", dir, out)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	p := start(t, procOpts{dataDir: filepath.Join(dir, "data"), args: []string{"--scrape.interval=1s"}})
	api := p.api()
	waitAtLeast(t, api, `count_over_time(up{job="tokenpath"}[1m])`, 2, 30*time.Second)

	// Fill the file system.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	require.NoError(t, err)
	buf := make([]byte, 64<<10)
	for range 1 << 10 { // bounded: 64 MiB, more than the tmpfs
		if _, err = f.Write(buf); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.NoError(t, f.Close())
	full := time.Now()

	var body string
	waitFor(t, 60*time.Second, "/-/ready 503 with the reason", func() (bool, string) {
		code, b := p.get("/-/ready", nil)
		body = string(b)
		return code == http.StatusServiceUnavailable, fmt.Sprintf("%d %s", code, b)
	})
	require.Contains(t, body, "no space left on device")
	// Every page of the UI says so.
	for _, page := range []string{"/", "/targets", "/explore"} {
		code, b := p.get(page, nil)
		require.Equal(t, http.StatusOK, code, page)
		require.Contains(t, string(b), `data-testid="storage-error"`, page)
		require.Contains(t, string(b), "no space left on device", page)
	}
	code, metrics := p.get("/metrics", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(metrics), "tokenpath_storage_write_failing 1")
	require.NotContains(t, string(metrics), "tokenpath_storage_write_failures_total 0")
	// Queries are still answered, from what was written before.
	before := instant(t, api, `count_over_time(up{job="tokenpath"}[1m])`, full)
	require.Len(t, before, 1)
	require.GreaterOrEqual(t, float64(before[0].Value), 2.0)

	require.NoError(t, os.Remove(filler))
	p.waitReady(60 * time.Second)
	resumed := time.Now()
	waitFor(t, 30*time.Second, "samples after space returned", func() (bool, string) {
		v := instant(t, api, fmt.Sprintf(`timestamp(up{job="tokenpath"}) > %d`, resumed.Unix()), time.Now())
		return len(v) == 1, v.String()
	})
	code, metrics = p.get("/metrics", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(metrics), "tokenpath_storage_write_failing 0")
	code, page := p.get("/targets", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(page), `data-testid="storage-error"`, "the banner goes once writes succeed")
}
