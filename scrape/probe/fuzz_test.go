package probe

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"
)

// FuzzReadStream feeds the SSE reader arbitrary bodies: truncated,
// interleaved, enormous and malformed streams. Whatever arrives, the reader
// ends with exactly one documented outcome, and the timings of a stream it
// accepts are consistent with each other.
func FuzzReadStream(f *testing.F) {
	seeds := []string{
		"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"completion_tokens\":2}}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"text\":\"a\"}]}\r\n\r\ndata: [DONE]\r\n\r\n",
		": keep-alive\n\nevent: message\nid: 1\nretry: 10\ndata: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\ndata: [DONE]\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", // no [DONE]
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",     // last line cut
		"data: {\"error\":{\"message\":\"overloaded\"}}\n\n",        // an error event
		"data: not json\n\n", // not JSON
		"HTTP/1.1 200 OK\n",  // not SSE
		"data: [DONE]\n\n",   // no text at all
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":{\"completion_tokens\":-5}}\ndata: [DONE]\n",
		"",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// A clock that moves 1 ms per reading, so every event has its own time.
		var tick time.Duration
		start := time.Unix(0, 0)
		p := &prober{now: func() time.Time { tick += time.Millisecond; return start.Add(tick) }}
		var res result
		p.readStream(context.Background(), bytes.NewReader(body), start, &res)

		if !slices.Contains(Outcomes(), res.outcome) {
			t.Fatalf("outcome %q is not a documented outcome", res.outcome)
		}
		if res.outcome != OutcomeOK && res.outcome != OutcomeNoUsage && res.outcome != OutcomeEmptyResponse && res.err == nil {
			t.Fatalf("outcome %s without an error", res.outcome)
		}
		if len(res.gaps) != max(res.textChunks-1, 0) {
			t.Fatalf("%d gaps for %d text chunks", len(res.gaps), res.textChunks)
		}
		if !res.complete() {
			return
		}
		if res.textChunks == 0 {
			t.Fatalf("outcome %s without text", res.outcome)
		}
		if res.firstChunk <= 0 || res.ttft < res.firstChunk || res.lastText < res.ttft || res.e2e < res.lastText {
			t.Fatalf("timings out of order: first chunk %s, ttft %s, last text %s, e2e %s", res.firstChunk, res.ttft, res.lastText, res.e2e)
		}
		if res.firstContent != 0 && res.firstContent < res.ttft {
			t.Fatalf("first visible content %s before the first text %s", res.firstContent, res.ttft)
		}
		if (res.outcome == OutcomeOK) != res.usage {
			t.Fatalf("outcome %s with usage=%v", res.outcome, res.usage)
		}
	})
}
