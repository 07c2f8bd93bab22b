package main_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"
)

// buildStubNVML compiles gpu/testdata/nvml_stub.c (two fake GPUs, steered by NVML_STUB_*
// variables) into a libnvidia-ml.so.1 against go-nvml's own nvml.h, as the gpu package's
// tests do, and returns its path.
func buildStubNVML(t *testing.T) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	require.NoError(t, err, "gcc builds the stub libnvidia-ml (apt-get install gcc)")
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/NVIDIA/go-nvml").Output()
	require.NoError(t, err)
	include := filepath.Join(strings.TrimSpace(string(out)), "pkg", "nvml")
	lib := filepath.Join(t.TempDir(), "libnvidia-ml.so.1")
	b, err := exec.Command(gcc, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-Wno-deprecated-declarations",
		"-I", include, "-o", lib, filepath.Join("..", "..", "gpu", "testdata", "nvml_stub.c")).CombinedOutput()
	require.NoError(t, err, "gcc: %s", b)
	return lib
}

// TestNVMLHangsMidRun: a whole tokenpath on the stub NVML, whose memory call then blocks (a
// wedged driver). tokenpath_gpu_up turns 0 in the TSDB, while the self-scrape, rule
// evaluation and the UI carry on; when the driver answers again the GPUs come back. The
// failure and the recovery are each logged once.
func TestNVMLHangsMidRun(t *testing.T) {
	lib := buildStubNVML(t)
	hang := filepath.Join(t.TempDir(), "hang")
	p := start(t, procOpts{
		args:      []string{"--gpu.nvml-library=" + lib, "--scrape.interval=1s", "--no-probe.enable"},
		env:       []string{"NVML_STUB_HANG=" + hang},
		keepRules: true,
	})
	api := p.api()
	waitValue(t, api, `tokenpath_gpu_up`, 1, 30*time.Second)
	waitValue(t, api, `count(gpu_vram_used_bytes)`, 2, 30*time.Second)

	require.NoError(t, os.WriteFile(hang, nil, 0o600))
	t.Cleanup(func() { _ = os.Remove(hang) }) // releases a stuck call before the process stops
	hung := time.Now()
	waitValue(t, api, `tokenpath_gpu_up`, 0, 30*time.Second)
	// The GPU series go stale; the rest of the self-scrape is stored on, and rules evaluate.
	waitValue(t, api, `absent(gpu_vram_used_bytes)`, 1, 30*time.Second)
	later := hung.Add(5 * time.Second)
	waitFor(t, 30*time.Second, "self-scrapes and rule evaluations after the hang", func() (bool, string) {
		v := instant(t, api, `timestamp(up{job="tokenpath"} == 1)`, time.Now())
		if len(v) != 1 || float64(v[0].Value) < float64(later.Unix()) {
			return false, v.String()
		}
		rules, err := api.Rules(ctxT(t), nil)
		require.NoError(t, err)
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				switch r := r.(type) {
				case promv1.RecordingRule:
					if r.LastEvaluation.After(later) {
						return true, ""
					}
				case promv1.AlertingRule:
					if r.LastEvaluation.After(later) {
						return true, ""
					}
				}
			}
		}
		return false, "no rule group evaluated since the hang"
	})
	for _, page := range []string{"/", "/gpu", "/targets"} {
		code, body := p.get(page, nil)
		require.Equal(t, http.StatusOK, code, "%s while NVML hangs: %s", page, body)
	}

	require.NoError(t, os.Remove(hang))
	waitValue(t, api, `tokenpath_gpu_up`, 1, 60*time.Second)
	waitValue(t, api, `count(gpu_vram_used_bytes)`, 2, 30*time.Second)
	logs := p.Logs()
	require.Equal(t, 1, strings.Count(logs, "NVML did not answer in time"), "logged once, not every scrape")
	require.Equal(t, 1, strings.Count(logs, "NVML answers again"))
}
