package scrape

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// FuzzKindFromExposition feeds server detection arbitrary expositions:
// binary junk, endless lines, names with braces and spaces in odd places.
// It never panics, always names one of the known kinds, and a known
// server's metric on the first sample line decides.
func FuzzKindFromExposition(f *testing.F) {
	for _, s := range []string{
		"# HELP vllm:num_requests_running Number of requests\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} 1\n",
		"tgi_queue_size 0\n",
		"sglang:num_running_reqs{model_name=\"m\"} 3\n",
		"llamacpp:requests_processing 1\n",
		"go_goroutines 12\nprocess_cpu_seconds_total 1\n",
		"{__name__=\"vllm:x\"} 1\n",
		"\n\n#\n",
		"",
	} {
		f.Add([]byte(s))
	}
	kinds := []string{ServerVLLM, ServerTGI, ServerSGLang, ServerLlamaCPP, ServerOther}
	f.Fuzz(func(t *testing.T, body []byte) {
		kind := kindFromExposition(bytes.NewReader(body))
		if !slices.Contains(kinds, kind) {
			t.Fatalf("kind %q is not a known kind", kind)
		}
		// Put a vLLM sample first: it decides, whatever follows.
		if bytes.ContainsRune(body, '\n') || len(body) > 0 && body[0] == '#' {
			return
		}
		first := "vllm:num_requests_running 1\n"
		if got := kindFromExposition(strings.NewReader(first + string(body))); got != ServerVLLM {
			t.Fatalf("a vLLM sample on the first line detected as %q", got)
		}
	})
}
