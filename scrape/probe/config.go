// Package probe is tokenpath's active prober: it sends real streaming
// requests to OpenAI-compatible endpoints (vLLM, TGI, SGLang, llama.cpp) on a
// fixed schedule and records, from the client's side, the time to response
// headers, to the first generated token, every gap between chunks, the time
// per output token and the end-to-end latency under tokenpath_probe_* (see
// README.md for the exact definition of every series).
package probe

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// APIs a probe can speak.
const (
	// APIChat is POST /v1/chat/completions with a single user message.
	APIChat = "chat"
	// APICompletions is POST /v1/completions with a prompt.
	APICompletions = "completions"
)

// Defaults of a Config's optional fields.
const (
	// DefaultPrompt asks for a long, predictable answer so that a probe sees
	// enough tokens for the time per output token to mean something.
	DefaultPrompt = "Count from 1 to 200, separated by spaces. Output only the numbers."
	// DefaultMaxTokens is enough decode steps for stable inter-chunk gaps
	// while keeping the load of one probe negligible.
	DefaultMaxTokens = 64
	// DefaultInterval is the probe schedule.
	DefaultInterval = 30 * time.Second
	// DefaultTimeout bounds one probe, discovery included. It stays below the
	// interval so that a slow probe does not push the next one off schedule.
	DefaultTimeout = 25 * time.Second
)

// ProbeUser is the OpenAI `user` field of every probe request, and
// ProbeHeader the header set to "1" on it, so that server-side logs and
// gateways can tell probes from real traffic.
const (
	ProbeUser   = "tokenpath-probe"
	ProbeHeader = "X-Tokenpath-Probe"
)

// Config is one probe target, as it appears in the `tokenpath: probes:`
// section of the configuration file. Zero fields take the defaults above.
type Config struct {
	// Endpoint is the server's base URL (http://host:8000, optionally ending
	// in /v1). It is the `target` label of every series.
	Endpoint string `yaml:"endpoint"`
	// Model is the model to request; empty discovers the first model that
	// GET /v1/models lists.
	Model string `yaml:"model"`
	// Prompt is the user message (chat) or prompt (completions).
	Prompt string `yaml:"prompt"`
	// MaxTokens caps the output; at least 2 for a time per output token.
	MaxTokens int `yaml:"max_tokens"`
	// Interval is the fixed schedule.
	Interval model.Duration `yaml:"interval"`
	// Timeout bounds a whole probe (discovery, headers and body); it must not
	// exceed Interval.
	Timeout model.Duration `yaml:"timeout"`
	// API is "chat" (default) or "completions".
	API string `yaml:"api"`
	// Headers are sent with every request (discovery included). Values are
	// never logged.
	Headers map[string]string `yaml:"headers"`
	// APIKeyFile names a file holding a bearer token; it is read when the
	// configuration is applied (and again on every reload).
	APIKeyFile string `yaml:"api_key_file"`
	// APIKeyEnv names an environment variable holding a bearer token, read
	// when the configuration is applied.
	APIKeyEnv string `yaml:"api_key_env"`
	// Server is the kind of server behind the endpoint (vllm, tgi, sglang,
	// llamacpp), exported as the `target_server` label so that rules can
	// compare the probe with that server's own metrics; empty when unknown.
	Server string `yaml:"server"`
}

// FieldError is a configuration error in one field of one probe.
type FieldError struct {
	// Index is the position of the probe in the list given to ApplyConfig.
	Index int
	// Field is the YAML name of the field.
	Field string
	// Err says what is wrong.
	Err error
}

// Error names the probe and the field.
func (e *FieldError) Error() string {
	return fmt.Sprintf("probes[%d].%s: %v", e.Index, e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// target is a validated Config with its defaults applied and its secrets
// resolved.
type target struct {
	cfg      Config
	base     *url.URL
	interval time.Duration
	timeout  time.Duration
	// apiKey is the bearer token; it must never reach a log line.
	apiKey string
	// key identifies the probe across reloads; it is its label set.
	key string
}

// validServer says whether rules know the value of Server.
func validServer(s string) bool {
	switch s {
	case "", "vllm", "tgi", "sglang", "llamacpp", "other":
		return true
	}
	return false
}

// compile validates c (the index-th probe) and applies its defaults. getenv
// reads APIKeyEnv.
func compile(index int, c Config, getenv func(string) string) (*target, error) {
	fail := func(field, format string, args ...any) error {
		return &FieldError{Index: index, Field: field, Err: fmt.Errorf(format, args...)}
	}
	c.Endpoint = strings.TrimRight(strings.TrimSpace(c.Endpoint), "/")
	if c.Endpoint == "" {
		return nil, fail("endpoint", "is required")
	}
	u, err := ParseEndpoint(c.Endpoint)
	if err != nil {
		return nil, &FieldError{Index: index, Field: "endpoint", Err: err}
	}
	if p := strings.TrimSuffix(u.Path, "/v1"); strings.HasSuffix(p, "/completions") || strings.HasSuffix(p, "/models") {
		return nil, fail("endpoint", "%q names an API path; give the server's base URL such as http://localhost:8000", c.Endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fail("endpoint", "%q must not carry a query, fragment or user info (use headers or api_key_file)", c.Endpoint)
	}
	switch c.API {
	case "":
		c.API = APIChat
	case APIChat, APICompletions:
	default:
		return nil, fail("api", "%q is not one of %q, %q", c.API, APIChat, APICompletions)
	}
	if c.Prompt == "" {
		c.Prompt = DefaultPrompt
	}
	switch {
	case c.MaxTokens == 0:
		c.MaxTokens = DefaultMaxTokens
	case c.MaxTokens < 0:
		return nil, fail("max_tokens", "must be positive, got %d", c.MaxTokens)
	}
	interval, timeout := time.Duration(c.Interval), time.Duration(c.Timeout)
	switch {
	case interval == 0:
		interval = DefaultInterval
	case interval < 0:
		return nil, fail("interval", "must be positive, got %s", interval)
	}
	switch {
	case timeout == 0:
		timeout = min(DefaultTimeout, interval)
	case timeout < 0:
		return nil, fail("timeout", "must be positive, got %s", timeout)
	case timeout > interval:
		return nil, fail("timeout", "%s exceeds the interval %s (at most one probe per target runs at a time)", timeout, interval)
	}
	for name := range c.Headers {
		if name == "" || strings.ContainsAny(name, " :\r\n\t") {
			return nil, fail("headers", "%q is not a valid header name", name)
		}
		if strings.ContainsAny(c.Headers[name], "\r\n") {
			// The value is a secret more often than not: name only the header.
			return nil, fail("headers", "the value of %q contains a line break", name)
		}
	}
	if !validServer(c.Server) {
		return nil, fail("server", "%q is not one of vllm, tgi, sglang, llamacpp, other", c.Server)
	}
	var key string
	switch {
	case c.APIKeyFile != "" && c.APIKeyEnv != "":
		return nil, fail("api_key_file", "set either api_key_file or api_key_env, not both")
	case c.APIKeyFile != "":
		b, err := os.ReadFile(c.APIKeyFile)
		if err != nil {
			return nil, &FieldError{Index: index, Field: "api_key_file", Err: fmt.Errorf("reading the key: %w", err)}
		}
		key = strings.TrimSpace(string(b))
		if key == "" {
			return nil, fail("api_key_file", "%s is empty", c.APIKeyFile)
		}
	case c.APIKeyEnv != "":
		key = strings.TrimSpace(getenv(c.APIKeyEnv))
		if key == "" {
			return nil, fail("api_key_env", "the environment variable %s is unset or empty", c.APIKeyEnv)
		}
	}
	return &target{
		cfg:      c,
		base:     u,
		interval: interval,
		timeout:  timeout,
		apiKey:   key,
		key:      c.Endpoint + "\xff" + c.Model + "\xff" + c.API,
	}, nil
}

// ParseEndpoint checks an inference server's base URL: an http or https
// scheme, a host and, when given, a port from 1 to 65535. The error quotes
// the value and says how to fix it; an endpoint without a scheme (the most
// common slip, 127.0.0.1:8000) is told to add one.
func ParseEndpoint(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("%q: add a scheme, e.g. http://%s", raw, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			// url.Error repeats the whole value; keep only the reason.
			err = uerr.Err
		}
		return nil, fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: the scheme must be http or https, e.g. http://localhost:8000", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q: no host, e.g. http://localhost:8000", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %s is not a number from 1 to 65535", raw, p)
		}
	}
	return u, nil
}

// Validate checks probe configurations exactly as ApplyConfig will, without
// applying them: every field, the api_key_file (read) and api_key_env
// (looked up with getenv), and duplicates. The error joins one *FieldError
// per problem, so that a caller can name the line of each field.
func Validate(cfgs []Config, getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	_, err := compileAll(cfgs, getenv)
	return err
}

// compileAll validates every config and rejects two probes with the same
// labels (they would write the same series).
func compileAll(cfgs []Config, getenv func(string) string) ([]*target, error) {
	out := make([]*target, 0, len(cfgs))
	seen := map[string]int{}
	var errs []error
	for i, c := range cfgs {
		t, err := compile(i, c, getenv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := seen[t.key]; dup {
			errs = append(errs, &FieldError{Index: i, Field: "endpoint", Err: fmt.Errorf(
				"probes[%d] already probes %s with the same model and api", j, t.cfg.Endpoint,
			)})
			continue
		}
		seen[t.key] = i
		out = append(out, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// apiURL joins the base URL and an OpenAI path such as "chat/completions",
// whether or not the configured endpoint already ends in /v1.
func (t *target) apiURL(path string) string {
	u := *t.base
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/v1") {
		p += "/v1"
	}
	u.Path = p + "/" + path
	return u.String()
}

// redactedError is an error whose message has had the probe's secrets
// removed; it keeps the original for errors.Is/As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact removes the API key and every configured header value from err's
// message: a server may echo the request's headers in an error body, which
// the probe logs.
func (t *target) redact(err error) error {
	msg := err.Error()
	secrets := make([]string, 0, len(t.cfg.Headers)+1)
	if t.apiKey != "" {
		secrets = append(secrets, t.apiKey)
	}
	for _, v := range t.cfg.Headers {
		// Very short values would redact ordinary words.
		if len(v) >= 4 {
			secrets = append(secrets, v)
		}
	}
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "<redacted>")
	}
	return &redactedError{msg: msg, err: err}
}
