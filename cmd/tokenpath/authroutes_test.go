package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// selfSignedCert writes a certificate for 127.0.0.1 and its key to dir and returns their
// paths and a pool that trusts the certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tokenpath test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile = writeFile(t, dir, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, dir, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// routeLine is the debug line the server logs for each route it serves.
var routeLine = regexp.MustCompile(`msg="Serving route" (?:\S+ )*?method=(\S+) path=(\S+)`)

// concretePaths turns a route pattern into paths to request: each wildcard route gets the
// pages behind it that users reach (the UI's pages and assets, an exporter, a dashboard),
// plus a path nobody registered, so the check covers the route and not one handler.
func concretePaths(pattern string) []string {
	samples := map[string][]string{
		"/*":             {"/", "/explore", "/targets", "/alerts", "/gpu", "/static/app.css", "/static/app.js", "/no-such-page"},
		"/api/v1/*":      {"/api/v1/query?query=up", "/api/v1/targets", "/api/v1/status/buildinfo", "/api/v1/no-such-endpoint"},
		"/export/*":      {"/export/vllm/metrics", "/export/no-such-exporter"},
		"/grafana/*":     {"/grafana/", "/grafana/dashboards/token_path.json", "/grafana/no-such-dashboard"},
		"/debug/pprof/*": {"/debug/pprof/", "/debug/pprof/cmdline"},
	}
	if s, ok := samples[pattern]; ok {
		return s
	}
	p := regexp.MustCompile(`:[^/]+`).ReplaceAllString(pattern, "x")
	return []string{strings.ReplaceAll(p, "*", "x")}
}

// TestAuthAndTLSOnEveryRoute: with TLS and basic auth in --web.config.file, every route the
// server registered (read from its own debug log, so a route added later is covered without
// editing this test), on the main listener and the GRAFANA_PORT one, refuses plain HTTP,
// answers 401 without credentials or with a wrong password, and serves the request with
// the right ones.
func TestAuthAndTLSOnEveryRoute(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("route-pass"), bcrypt.MinCost)
	require.NoError(t, err)
	webYML := writeFile(t, dir, "web.yml", fmt.Sprintf(
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  alice: %s\n", certFile, keyFile, hash))
	_, grafanaPort, err := net.SplitHostPort(testbin.FreePort(t))
	require.NoError(t, err)
	p := launch(t, procOpts{
		args: []string{
			"--web.config.file=" + webYML, "--log.level=debug", "--web.enable-pprof", "--web.enable-lifecycle",
			"--no-gpu.enable", "--no-probe.enable",
		},
		env: []string{"GRAFANA_PORT=" + grafanaPort},
	})
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer; following it would test another route
		},
	}
	listeners := []string{p.Addr, "127.0.0.1:" + grafanaPort}
	request := func(base, method, path, user, pass string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, http.NoBody)
		require.NoError(t, err)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		require.NoError(t, err, "%s %s", method, base+path)
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(b)
	}
	waitFor(t, 60*time.Second, "tokenpath ready over TLS", func() (bool, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+p.Addr+"/-/ready", http.NoBody)
		req.SetBasicAuth("alice", "route-pass")
		resp, err := client.Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})

	type route struct{ method, path string }
	var routes []route
	for _, m := range routeLine.FindAllStringSubmatch(p.Logs(), -1) {
		routes = append(routes, route{m[1], m[2]})
	}
	// The list must hold what the issue names, or the log line changed and the test would
	// pass over nothing.
	paths := map[string]bool{}
	for _, r := range routes {
		paths[r.path] = true
	}
	for _, want := range []string{"/*", "/api/v1/*", "/federate", "/export/*", "/grafana/*", "/metrics", "/-/ready", "/-/healthy", "/-/reload", "/debug/pprof/*"} {
		require.True(t, paths[want], "route %s not in the server's list %v", want, routes)
	}

	for _, addr := range listeners {
		base := "https://" + addr
		// Plain HTTP on a TLS listener: Go's server answers 400 and serves nothing.
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP on %s", addr)
			require.NotContains(t, string(b), "# HELP")
		}
		for _, r := range routes {
			method := r.method
			if method == "*" {
				method = http.MethodGet
			}
			for _, path := range concretePaths(r.path) {
				name := fmt.Sprintf("%s %s%s", method, addr, path)
				code, body := request(base, method, path, "", "")
				require.Equal(t, http.StatusUnauthorized, code, "%s without credentials: %s", name, body)
				code, _ = request(base, method, path, "alice", "wrong")
				require.Equal(t, http.StatusUnauthorized, code, "%s with a wrong password", name)
				code, body = request(base, method, path, "alice", "route-pass")
				require.NotEqual(t, http.StatusUnauthorized, code, "%s with the right credentials: %s", name, body)
				if strings.Contains(path, "no-such") || method != http.MethodGet {
					continue
				}
				require.Less(t, code, 400, "%s with the right credentials: %s", name, body)
			}
		}
	}
}
