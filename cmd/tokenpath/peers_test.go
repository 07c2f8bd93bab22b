package main_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// The fleet tests' peers are testbin's: Debian's Prometheus, VictoriaMetrics
// and Alertmanager, and tokenpath itself as `fleet` or `simulate`, each
// stoppable and restartable on the same address for the outage tests.

// startPrometheusReceiver runs Debian's Prometheus as a remote-write receiver
// with no scrape jobs of its own.
func startPrometheusReceiver(t testing.TB) *testbin.Peer {
	t.Helper()
	return testbin.StartPrometheus(t, testbin.PrometheusOptions{
		Config: "global:\n  scrape_interval: 1m\n",
		Args:   []string{"--web.enable-remote-write-receiver"},
	})
}

// startFleet runs `tokenpath fleet` on a free loopback port, querying engine
// (a Prometheus or a VictoriaMetrics), and waits until it is ready.
func startFleet(t testing.TB, engine *testbin.Peer) *testbin.Peer {
	t.Helper()
	addr := testbin.FreePort(t)
	return testbin.StartPeer(t, testbin.PeerOptions{
		Name: "tokenpath fleet", Command: testbin.Binary(t),
		Args: []string{"fleet", "--query.url=" + engine.URL(), "--web.listen-address=" + addr},
		Addr: addr, ReadyPath: "/-/ready",
	})
}

// startSimulator runs `tokenpath simulate` on a free loopback port with
// extra flags and waits until it answers /health.
func startSimulator(t testing.TB, flags ...string) string {
	t.Helper()
	addr := testbin.FreePort(t)
	testbin.StartPeer(t, testbin.PeerOptions{
		Name: "simulator " + addr, Command: testbin.Binary(t),
		Args: append([]string{"simulate", "--listen=" + addr}, flags...),
		Env:  testbin.CleanEnv(), Addr: addr, ReadyPath: "/health", ReadyTimeout: 20 * time.Second,
	})
	return addr
}

// hostname is the machine's name: the default of the external label host.
func hostname(t testing.TB) string {
	t.Helper()
	h, err := os.Hostname()
	require.NoError(t, err)
	return h
}
