package main_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestHelp: `tokenpath --help` is the server's help (serve is the default
// command), with every flag's default, the environment variables and the
// other commands; no internal words; a mistyped flag names its fix.
func TestHelp(t *testing.T) {
	bin := testbin.Binary(t)
	for _, arg := range []string{"--help", "-h", "help"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		require.NoError(t, err, string(out))
		help := string(out)
		require.Contains(t, help, "usage: tokenpath serve [<flags>]", arg)
		for _, want := range []string{
			"--web.listen-address", "--storage.tsdb.path=\"data/\"", "--alert.ttft-warning=5s", "--vllm.endpoint",
			"VLLM_ENDPOINT", "TGI_ENDPOINT", "SGLANG_ENDPOINT", "LLAMACPP_ENDPOINT", "PROMETHEUS_PORT", "SCRAPE_INTERVAL", "GRAFANA_PORT",
			"check config", "grafana export", "Default: 15s", "Default: none",
		} {
			require.Contains(t, help, want, arg)
		}
		require.NotContains(t, help, "seed", "internal words in the help")
	}

	cases := []struct{ arg, want string }{
		{"--web.listen-adress=:1", "unknown long flag '--web.listen-adress'; did you mean --web.listen-address?"}, //nolint:misspell // the misspelling is the test input
		{"--alert.ttft-warnig=1s", "did you mean --alert.ttft-warning?"},
		{"--demos", "did you mean --demo?"},
	}
	for _, tc := range cases {
		out, err := exec.Command(bin, tc.arg).CombinedOutput()
		require.Error(t, err)
		require.Contains(t, string(out), tc.want)
	}
	out, err := exec.Command(bin, "--zzzzzzzzzzzz").CombinedOutput()
	require.Error(t, err)
	require.NotContains(t, string(out), "did you mean", "no suggestion for something that is no typo")
	require.True(t, strings.HasPrefix(string(out), "tokenpath: unknown long flag"), string(out))
}
