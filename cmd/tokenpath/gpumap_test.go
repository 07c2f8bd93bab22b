package main_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGPUMapping: a whole tokenpath under --demo maps each of its in-process
// inference servers to the simulated GPUs that list its PID, and records
// tokenpath:inference_target_gpu on the server's own job and instance; a
// configured server on another machine is "remote", one on this machine that
// nothing listens for is "unknown".
func TestGPUMapping(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gone := l.Addr().String()
	require.NoError(t, l.Close())
	cfg := "global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\nscrape_configs:\n" +
		"- job_name: remote-vllm\n  static_configs:\n  - targets: [\"192.0.2.10:8000\"]\n    labels: {server: vllm}\n" +
		fmt.Sprintf("- job_name: gone-sglang\n  static_configs:\n  - targets: [%q]\n    labels: {server: sglang}\n", gone)
	p := start(t, procOpts{keepRules: true, args: []string{
		"--demo", "--no-probe.enable", "--config.file=" + writeFile(t, t.TempDir(), "tokenpath.yml", cfg),
	}})
	api := p.api()

	const wait = 2 * time.Minute
	waitValue(t, api, `tokenpath_inference_target_gpu_mapping{target_job="remote-vllm", target_instance="192.0.2.10:8000", state="remote"}`, 1, wait)
	waitValue(t, api, fmt.Sprintf(`tokenpath_inference_target_gpu_mapping{target_job="gone-sglang", target_instance=%q, state="unknown"}`, gone), 1, wait)
	for _, job := range []string{"vllm", "tgi"} {
		// The demo's servers run inside tokenpath, whose PID every simulated GPU lists.
		waitValue(t, api, fmt.Sprintf(`count(tokenpath_inference_target_gpu_mapping{target_job=%q, state="mapped"})`, job), 1, wait)
		waitValue(t, api, fmt.Sprintf(`count(tokenpath:inference_target_gpu{job=%q})`, job), 8, wait)
		// On the server's own job and instance: it joins the target's up series.
		waitValue(t, api, fmt.Sprintf(`count(tokenpath:inference_target_gpu{job=%q} * on (job, instance) group_left up)`, job), 8, wait)
	}
	// Targets that are not mapped have no GPU series.
	require.Empty(t, instant(t, api, `tokenpath:inference_target_gpu{job=~"remote-vllm|gone-sglang"}`, time.Now()))
}
