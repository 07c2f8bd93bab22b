package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		// The keep-alive goroutines of idle HTTP/1 server connections in httptest.
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
	)
}

// proc is a tokenpath child process under the test's control (a
// testbin.Peer): unlike testbin.Start it exposes the exit status, waits for
// readiness with credentials, and can be started on an existing data
// directory.
type proc struct {
	t       testing.TB
	URL     string
	Addr    string
	DataDir string
	peer    *testbin.Peer
	user    string
	pass    string
}

type procOpts struct {
	args    []string
	dataDir string // default: a fresh temp dir
	addr    string // default: a free loopback port
	env     []string
	// user and pass are sent with every request when set (basic auth).
	user, pass string
	// keepRules keeps the embedded default rules (off otherwise, so that rule
	// evaluation noise stays out of the core tests).
	keepRules bool
}

// launch starts tokenpath and returns at once.
func launch(t testing.TB, o procOpts) *proc {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.addr == "" {
		o.addr = testbin.FreePort(t)
	}
	args := append([]string{"--web.listen-address=" + o.addr, "--storage.tsdb.path=" + o.dataDir}, o.args...)
	if !o.keepRules {
		args = append(args, "--no-rules.defaults")
	}
	p := &proc{t: t, URL: "http://" + o.addr, Addr: o.addr, DataDir: o.dataDir, user: o.user, pass: o.pass}
	p.peer = testbin.LaunchPeer(t, testbin.PeerOptions{
		Name: "tokenpath " + o.addr, Command: testbin.Binary(t), Args: args,
		Env: append(testbin.CleanEnv(), o.env...), Addr: o.addr, ReadyPath: "/-/ready",
	})
	return p
}

// start launches tokenpath with the given flags and waits until it is ready.
func start(t testing.TB, o procOpts) *proc {
	t.Helper()
	p := launch(t, o)
	p.waitReady(60 * time.Second)
	return p
}

// stop signals the process and waits at most d for it to exit, then kills
// it. It returns the exit code (-1 for a death by signal).
func (p *proc) stop(sig syscall.Signal, d time.Duration) int { return p.peer.StopWith(sig, d) }

// waitExit waits at most d for the process to exit by itself.
func (p *proc) waitExit(d time.Duration) (exited bool, code int) { return p.peer.WaitExit(d) }

func (p *proc) Logs() string { return p.peer.Logs() }

// waitReady waits at most d until /-/ready answers 200 to the process'
// credentials.
func (p *proc) waitReady(d time.Duration) {
	p.t.Helper()
	p.peer.WaitReady(d, p.authorize)
}

// authorize adds the process' credentials, if it has any, to req.
func (p *proc) authorize(req *http.Request) {
	if p.user != "" {
		req.SetBasicAuth(p.user, p.pass)
	}
}

// do sends a request with the process' credentials.
func (p *proc) do(method, path string, body io.Reader, hdr http.Header) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, body)
	if err != nil {
		cancel()
		return nil, err
	}
	maps.Copy(req.Header, hdr)
	p.authorize(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// get returns the status and body of a request.
func (p *proc) get(path string, hdr http.Header) (int, []byte) {
	p.t.Helper()
	return p.send(http.MethodGet, path, nil, hdr)
}

func (p *proc) send(method, path string, body io.Reader, hdr http.Header) (int, []byte) {
	p.t.Helper()
	resp, err := p.do(method, path, body, hdr)
	require.NoError(p.t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(p.t, err)
	return resp.StatusCode, b
}

// apiResponse is the envelope of every /api/v1 answer.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

func (p *proc) apiGet(path string) (int, apiResponse) {
	p.t.Helper()
	code, body := p.get(path, nil)
	var r apiResponse
	require.NoErrorf(p.t, json.Unmarshal(body, &r), "GET %s: %d %s", path, code, body)
	return code, r
}

// api is a client_golang API client of the process.
func (p *proc) api() promv1.API {
	p.t.Helper()
	rt := promapi.DefaultRoundTripper
	if p.user != "" {
		rt = basicAuthRT{user: p.user, pass: p.pass, next: rt}
	}
	c, err := promapi.NewClient(promapi.Config{Address: p.URL, RoundTripper: rt})
	require.NoError(p.t, err)
	return promv1.NewAPI(c)
}

type basicAuthRT struct {
	user, pass string
	next       http.RoundTripper
}

func (b basicAuthRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.pass)
	return b.next.RoundTrip(r)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond every 250ms until it holds, at most d. cond returns a
// description of the current state for the failure message.
func waitFor(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for i := 0; i < 10000; i++ {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last state: %s", d, what, last)
}

// instant runs an instant query and returns the vector.
func instant(t testing.TB, api promv1.API, q string, ts time.Time) model.Vector {
	t.Helper()
	v, _, _, err := api.Query(ctxT(t), q, ts)
	require.NoError(t, err, "query %s", q)
	vec, ok := v.(model.Vector)
	require.Truef(t, ok, "query %s: %T, want a vector", q, v)
	return vec
}

// waitValue waits until q returns one sample with value want.
func waitValue(t testing.TB, api promv1.API, q string, want float64, d time.Duration) {
	t.Helper()
	waitSample(t, api, q, fmt.Sprintf("== %g", want), d, func(v float64) bool { return v == want })
}

// waitAtLeast waits until the scalar result of q is at least floor.
func waitAtLeast(t testing.TB, api promv1.API, q string, floor float64, d time.Duration) {
	t.Helper()
	waitSample(t, api, q, fmt.Sprintf(">= %g", floor), d, func(v float64) bool { return v >= floor })
}

// waitSample waits until q, queried now, returns one sample whose value
// passes ok; cond says what ok checks, for the failure message.
func waitSample(t testing.TB, api promv1.API, q, cond string, d time.Duration, ok func(float64) bool) {
	t.Helper()
	waitFor(t, d, q+" "+cond, func() (bool, string) {
		v, _, _, err := api.Query(ctxT(t), q, time.Now())
		if err != nil {
			return false, err.Error()
		}
		vec, isVec := v.(model.Vector)
		if !isVec || len(vec) != 1 {
			return false, fmt.Sprint(v) //nolint:gocritic // v may be a nil model.Value: fmt.Sprint prints <nil> where v.String() would panic
		}
		return ok(float64(vec[0].Value)), vec.String()
	})
}

// target returns the active target of a job (fails unless exactly one).
func target(t testing.TB, api promv1.API, job string) promv1.ActiveTarget {
	t.Helper()
	res, err := api.Targets(ctxT(t))
	require.NoError(t, err)
	found := activeTargetsOf(res, job)
	require.Lenf(t, found, 1, "active targets of job %q in %+v", job, res.Active)
	return found[0]
}

// findTarget returns the active target of a job, if there is exactly one.
func findTarget(t testing.TB, api promv1.API, job string) (promv1.ActiveTarget, bool) {
	t.Helper()
	res, err := api.Targets(ctxT(t))
	if err != nil {
		return promv1.ActiveTarget{}, false
	}
	found := activeTargetsOf(res, job)
	if len(found) != 1 {
		return promv1.ActiveTarget{}, false
	}
	return found[0], true
}

// requireTargetDown waits at most d for the target of job to be down with
// an error containing wantErr, and for its up series to say 0.
func requireTargetDown(t testing.TB, api promv1.API, job, wantErr string, d time.Duration) {
	t.Helper()
	var at promv1.ActiveTarget
	waitFor(t, d, job+" down with an error", func() (bool, string) {
		var ok bool
		if at, ok = findTarget(t, api, job); !ok {
			return false, "no target yet"
		}
		return at.Health == promv1.HealthBad && at.LastError != "", fmt.Sprintf("%s %q", at.Health, at.LastError)
	})
	require.Contains(t, at.LastError, wantErr)
	waitValue(t, api, fmt.Sprintf(`up{job=%q}`, job), 0, 30*time.Second)
}

func activeTargetsOf(res promv1.TargetsResult, job string) []promv1.ActiveTarget {
	var found []promv1.ActiveTarget
	for _, at := range res.Active {
		if string(at.Labels["job"]) == job {
			found = append(found, at)
		}
	}
	return found
}

// hostOf is the host:port of an httptest server.
func hostOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// writeFile writes a file in dir and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// writeConfig writes tokenpath.yml with config, and files beside it (name →
// content, e.g. the rule files it names), in a fresh directory; it returns
// the path of tokenpath.yml.
func writeConfig(t testing.TB, config string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, dir, name, content)
	}
	return writeFile(t, dir, "tokenpath.yml", config)
}

// serveRegistry serves a registry like an instrumented application, with
// content negotiation (protobuf for native histograms and exemplars).
func serveRegistry(t testing.TB, reg *prometheus.Registry) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// queryURL builds a path with query parameters.
func queryURL(path string, params url.Values) string { return path + "?" + params.Encode() }
