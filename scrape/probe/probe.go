package probe

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits on what one probe reads, so that a misbehaving server cannot make a
// probe loop or buffer without end.
const (
	maxLineBytes   = 1 << 20  // one SSE line
	maxBodyBytes   = 16 << 20 // one stream
	maxEvents      = 1 << 16  // data events in one stream
	maxModelsBytes = 4 << 20  // the /v1/models answer
)

// result is everything one probe measured. Durations are from sent (the
// moment the completion request was handed to the HTTP client), taken on Go's
// monotonic clock. A zero duration means "not measured".
type result struct {
	outcome string
	// code is the HTTP status, 0 without a response.
	code  int
	model string
	err   error

	// sent says whether the completion request was handed to the client.
	sent          bool
	scheduleDelay time.Duration
	timeToHeaders time.Duration
	firstChunk    time.Duration
	ttft          time.Duration
	firstContent  time.Duration
	lastText      time.Duration
	e2e           time.Duration
	// gaps are the gaps between consecutive chunks carrying text.
	gaps []time.Duration
	// textChunks counts chunks carrying generated text.
	textChunks int
	// tokens is usage.completion_tokens; usage says whether a usage chunk came.
	tokens int
	usage  bool
}

// complete says whether the stream was received whole (latencies recorded).
func (r *result) complete() bool {
	return r.outcome == OutcomeOK || r.outcome == OutcomeNoUsage
}

// tpot is (last text chunk − first text chunk) / (tokens − 1), or 0 when
// there is no usage or fewer than 2 tokens.
func (r *result) tpot() time.Duration {
	if !r.complete() || !r.usage || r.tokens < 2 || r.ttft == 0 {
		return 0
	}
	return (r.lastText - r.ttft) / time.Duration(r.tokens-1)
}

// prober sends probes with one HTTP client.
type prober struct {
	client *http.Client
	// now is the clock (time.Now; its monotonic reading is what durations use).
	now func() time.Time
}

// streamChunk is the part of an OpenAI streaming chunk a probe reads, for
// both chat (delta) and completions (text).
type streamChunk struct {
	Choices []struct {
		Text  *string `json:"text"`
		Delta *struct {
			Content          *string `json:"content"`
			ReasoningContent *string `json:"reasoning_content"`
			Reasoning        *string `json:"reasoning"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *struct {
		CompletionTokens *int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// run sends one probe of t for model (empty: discover it) that was scheduled
// at scheduled, within ctx (which carries the probe's deadline). It reports
// aborted when parent (tokenpath's own lifetime) ended the probe, in which
// case nothing is recorded.
func (p *prober) run(ctx, parent context.Context, t *target, model string, scheduled time.Time) (res result, aborted bool) {
	res = p.probe(ctx, t, model, scheduled)
	if parent.Err() != nil && res.outcome != OutcomeOK && res.outcome != OutcomeNoUsage {
		return res, true
	}
	return res, false
}

func (p *prober) probe(ctx context.Context, t *target, model string, scheduled time.Time) result {
	var res result
	if model == "" {
		m, err := p.discover(ctx, t)
		if err != nil {
			res.outcome, res.err = OutcomeDiscoveryError, err
			if ctx.Err() != nil {
				res.outcome = OutcomeTimeout
			}
			return res
		}
		model = m
	}
	res.model = model

	body, err := requestBody(t, model)
	if err != nil {
		res.outcome, res.err = OutcomeMalformedStream, err
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.apiURL(apiPath(t.cfg.API)), bytes.NewReader(body))
	if err != nil {
		res.outcome, res.err = OutcomeConnectionError, fmt.Errorf("building the request: %w", err)
		return res
	}
	p.setHeaders(req, t)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")

	sent := p.now()
	res.sent, res.scheduleDelay = true, max(sent.Sub(scheduled), 0)
	resp, err := p.client.Do(req)
	if err != nil {
		res.outcome, res.err = classifyTransportError(ctx, err), err
		return res
	}
	defer resp.Body.Close()
	res.timeToHeaders = p.now().Sub(sent)
	res.code = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Drain a little of the error body so the message can be logged.
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		res.outcome, res.err = OutcomeHTTPError, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
		if ctx.Err() != nil {
			res.outcome = OutcomeTimeout
		}
		return res
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/event-stream" {
		res.outcome, res.err = OutcomeMalformedStream, fmt.Errorf("content type %q is not text/event-stream", resp.Header.Get("Content-Type"))
		return res
	}
	p.readStream(ctx, io.LimitReader(resp.Body, maxBodyBytes+1), sent, &res)
	return res
}

// readStream reads SSE events until [DONE], recording the time of every one.
func (p *prober) readStream(ctx context.Context, body io.Reader, sent time.Time, res *result) {
	br := bufio.NewReaderSize(body, 64<<10)
	var (
		read   int
		events int
		sawAny bool
	)
	fail := func(outcome string, err error) {
		res.outcome, res.err = outcome, err
		if ctx.Err() != nil {
			res.outcome = OutcomeTimeout
		}
	}
	for {
		line, err := readLine(br)
		read += len(line) + 1
		if err != nil {
			switch {
			case errors.Is(err, errLineTooLong):
				fail(OutcomeMalformedStream, err)
			default:
				fail(OutcomeTruncated, fmt.Errorf("the stream ended before [DONE]: %w", err))
			}
			return
		}
		if read > maxBodyBytes {
			fail(OutcomeMalformedStream, fmt.Errorf("the stream exceeds %d bytes", maxBodyBytes))
			return
		}
		at := p.now().Sub(sent)
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		switch {
		case ok:
		case len(line) == 0, line[0] == ':':
			// Event separator or comment (keep-alive).
			continue
		case bytes.HasPrefix(line, []byte("event:")), bytes.HasPrefix(line, []byte("id:")), bytes.HasPrefix(line, []byte("retry:")):
			continue
		default:
			fail(OutcomeMalformedStream, fmt.Errorf("line %q is not an SSE field", truncate(line)))
			return
		}
		events++
		if events > maxEvents {
			fail(OutcomeMalformedStream, fmt.Errorf("the stream exceeds %d events", maxEvents))
			return
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			res.e2e = at
			switch {
			case res.textChunks == 0:
				res.outcome, res.err = OutcomeEmptyResponse, errors.New("the stream carried no generated text")
			case !res.usage:
				res.outcome = OutcomeNoUsage
			default:
				res.outcome = OutcomeOK
			}
			return
		}
		var c streamChunk
		if err := json.Unmarshal(data, &c); err != nil {
			fail(OutcomeMalformedStream, fmt.Errorf("data %q is not JSON: %w", truncate(data), err))
			return
		}
		if len(c.Error) > 0 && string(c.Error) != "null" {
			fail(OutcomeMalformedStream, fmt.Errorf("error event: %s", truncate(c.Error)))
			return
		}
		if !sawAny {
			res.firstChunk = at
			sawAny = true
		}
		if c.Usage != nil && c.Usage.CompletionTokens != nil {
			res.usage, res.tokens = true, *c.Usage.CompletionTokens
		}
		text, visible := chunkText(&c)
		if !text {
			continue
		}
		if res.textChunks == 0 {
			res.ttft = at
		} else {
			res.gaps = append(res.gaps, at-res.lastText)
		}
		if visible && res.firstContent == 0 {
			res.firstContent = at
		}
		res.lastText = at
		res.textChunks++
	}
}

// chunkText says whether a chunk carries generated text, and whether any of
// it is visible content (not reasoning).
func chunkText(c *streamChunk) (text, visible bool) {
	for _, ch := range c.Choices {
		if ch.Text != nil && *ch.Text != "" {
			text, visible = true, true
		}
		if d := ch.Delta; d != nil {
			if d.Content != nil && *d.Content != "" {
				text, visible = true, true
			}
			if (d.ReasoningContent != nil && *d.ReasoningContent != "") || (d.Reasoning != nil && *d.Reasoning != "") {
				text = true
			}
		}
	}
	return text, visible
}

var errLineTooLong = fmt.Errorf("an SSE line exceeds %d bytes", maxLineBytes)

// readLine returns one line without its line ending (\n or \r\n).
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxLineBytes {
			return nil, errLineTooLong
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(line) > 0 && errors.Is(err, io.EOF) {
			// A last line without a newline is still cut short.
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

func truncate(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// classifyTransportError tells a timeout from other failures to get a
// response.
func classifyTransportError(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return OutcomeTimeout
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return OutcomeTimeout
	}
	return OutcomeConnectionError
}

func apiPath(api string) string {
	if api == APICompletions {
		return "completions"
	}
	return "chat/completions"
}

// requestBody is the streaming request, marked as a probe with `user`.
func requestBody(t *target, model string) ([]byte, error) {
	body := map[string]any{
		"model":          model,
		"max_tokens":     t.cfg.MaxTokens,
		"stream":         true,
		"stream_options": map[string]any{"include_usage": true},
		"temperature":    0,
		"user":           ProbeUser,
	}
	if t.cfg.API == APICompletions {
		body["prompt"] = t.cfg.Prompt
	} else {
		body["messages"] = []map[string]string{{"role": "user", "content": t.cfg.Prompt}}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding the request: %w", err)
	}
	return b, nil
}

// setHeaders adds the probe marker, the configured headers and the API key.
func (p *prober) setHeaders(req *http.Request, t *target) {
	req.Header.Set("User-Agent", "tokenpath-probe/1")
	req.Header.Set(ProbeHeader, "1")
	for k, v := range t.cfg.Headers {
		req.Header.Set(k, v)
	}
	if t.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+t.apiKey)
	}
}

// TGIModel is the model a probe of a TGI server (server: tgi) requests when
// the server has no /v1/models.
const TGIModel = "tgi"

// discover returns the first model GET /v1/models lists.
func (p *prober) discover(ctx context.Context, t *target) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.apiURL("models"), http.NoBody)
	if err != nil {
		return "", fmt.Errorf("building the models request: %w", err)
	}
	p.setHeaders(req, t)
	resp, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("listing models: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound && t.cfg.Server == "tgi" {
		// TGI versions without /v1/models serve one model and ignore the
		// request's model field; its own documentation sends "tgi".
		return TGIModel, nil
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("listing models: HTTP %s", strconv.Itoa(resp.StatusCode))
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxModelsBytes)).Decode(&list); err != nil {
		return "", fmt.Errorf("decoding the model list: %w", err)
	}
	var unfit error
	for _, m := range list.Data {
		if m.ID == "" {
			continue
		}
		if err := checkModelLabel(m.ID); err != nil {
			unfit = cmp.Or(unfit, err)
			continue
		}
		return m.ID, nil
	}
	if unfit != nil {
		return "", fmt.Errorf("the server lists no model id usable as a label: %w", unfit)
	}
	return "", errors.New("the server lists no model")
}

// MaxModelLabelBytes bounds a discovered model id, which becomes the model
// label of every probe series. Real ids (Hugging Face names, local paths)
// are far shorter; a server answering megabytes would otherwise put them in
// every series, on every scrape of /metrics.
const MaxModelLabelBytes = 256

// checkModelLabel says why a model id cannot be a label value.
func checkModelLabel(id string) error {
	if len(id) > MaxModelLabelBytes {
		return fmt.Errorf("model id %.40q… is %d bytes long, over the %d-byte limit", id, len(id), MaxModelLabelBytes)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("model id %.40q is not valid UTF-8", id)
	}
	return nil
}
