package probe

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// rawPeer is a TCP listener on loopback that plays a hostile inference server below HTTP:
// each accepted connection gets serve, while the peer drains what the client sends and
// notices when the client closes, so the test knows how many connections were open at once.
type rawPeer struct {
	ln       net.Listener
	accepted atomic.Int64
	open     atomic.Int64
	maxOpen  atomic.Int64
	done     chan struct{}
	wg       sync.WaitGroup
}

func newRawPeer(t *testing.T, serve func(c net.Conn, requested, done <-chan struct{})) *rawPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &rawPeer{ln: ln, done: make(chan struct{})}
	var mu sync.Mutex
	var conns []net.Conn
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			p.accepted.Add(1)
			n := p.open.Add(1)
			for {
				m := p.maxOpen.Load()
				if n <= m || p.maxOpen.CompareAndSwap(m, n) {
					break
				}
			}
			requested := make(chan struct{})
			p.wg.Go(func() {
				// Read the request (an answer sent before it would be refused by the client as
				// unsolicited), then until the client hangs up: that is when the probe gave up.
				br := bufio.NewReader(c)
				if req, err := http.ReadRequest(br); err == nil {
					_, _ = io.Copy(io.Discard, req.Body)
					close(requested)
				}
				_, _ = io.Copy(io.Discard, br)
				p.open.Add(-1)
			})
			p.wg.Go(func() { serve(c, requested, p.done) })
		}
	})
	t.Cleanup(func() {
		close(p.done)
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// waitFor reports whether the request arrived before the test ended.
func waitFor(requested, done <-chan struct{}) bool {
	select {
	case <-requested:
		return true
	case <-done:
		return false
	}
}

// trickle writes b one byte per tick until it is written, the client hangs up or done closes.
func trickle(c net.Conn, done <-chan struct{}, b []byte, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for i := range b {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if _, err := c.Write(b[i : i+1]); err != nil {
			return
		}
	}
}

// TestHostilePeers: a server that accepts the connection and never answers, and servers that
// send one byte per tick (a minute in production, 50 ms here so the test is short; the
// byte rate does not matter, only that the whole answer takes longer than the timeout). The
// probe's deadline covers the whole exchange, not the gap between bytes, so each probe ends
// at its timeout, is counted as outcome="timeout", and closes its connection; the next probe
// opens one new connection, never a second while the first is open.
func TestHostilePeers(t *testing.T) {
	t.Parallel()
	const tick = 50 * time.Millisecond
	sseHeaders := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
	chunk := `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}` + "\n\n"
	long := func(s string, n int) []byte {
		var b []byte
		for range n {
			b = append(b, s...)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		serve func(c net.Conn, requested, done <-chan struct{})
		want  string
	}{
		{
			name:  "accepts the connection and never answers",
			serve: func(_ net.Conn, _, done <-chan struct{}) { <-done },
			want:  "timeout/",
		},
		{
			name: "one byte per tick in the response headers",
			serve: func(c net.Conn, requested, done <-chan struct{}) {
				if waitFor(requested, done) {
					trickle(c, done, []byte(sseHeaders), tick)
				}
			},
			want: "timeout/",
		},
		{
			name: "headers at once, then one body byte per tick",
			serve: func(c net.Conn, requested, done <-chan struct{}) {
				if !waitFor(requested, done) {
					return
				}
				if _, err := io.WriteString(c, sseHeaders); err != nil {
					return
				}
				trickle(c, done, long(chunk, 100), tick)
			},
			want: "timeout/200",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			peer := newRawPeer(t, tc.serve)
			h := newHarness(t, Options{})
			require.NoError(t, h.m.ApplyConfig([]Config{cfg("http://"+peer.ln.Addr().String(), func(c *Config) {
				// The gap between a probe's deadline and the next tick leaves the peer time
				// to see the connection closed before the next one opens.
				c.Interval = model.Duration(time.Second)
				c.Timeout = model.Duration(300 * time.Millisecond)
			})}))
			stop := h.run(t)
			h.waitProbes(t, 3)
			stop()
			out := h.outcomes(t)
			require.Equal(t, map[string]float64{tc.want: out[tc.want]}, out, "every probe timed out")
			require.GreaterOrEqual(t, out[tc.want], 3.0)
			// One connection per probe (a probe cancelled by stop may have opened one more),
			// no retries, never two open at once, and every one closed by the prober.
			require.LessOrEqual(t, peer.accepted.Load(), int64(out[tc.want])+1)
			require.Equal(t, int64(1), peer.maxOpen.Load(), "at most one probe in flight per target")
			require.Eventually(t, func() bool { return peer.open.Load() == 0 }, 5*time.Second, 5*time.Millisecond)
			require.Empty(t, h.family(t, "tokenpath_probe_skipped_total"), "no tick found the previous probe still running")
		})
	}
}
