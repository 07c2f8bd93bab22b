package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Simulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.complete(w, r, false) })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.complete(w, r, true) })
	mux.HandleFunc("GET /sim/load", s.getState)
	mux.HandleFunc("POST /sim/load", s.postLoad)
	mux.HandleFunc("GET /sim/front_delay", s.getState)
	mux.HandleFunc("POST /sim/front_delay", s.postFrontDelay)
	mux.HandleFunc("GET /sim/scenario", s.getState)
	mux.HandleFunc("POST /sim/scenario", s.postScenario)
	return mux
}

// slogPromLogger sends promhttp's errors to the simulator's logger.
type slogPromLogger struct{ s *Simulator }

func (l slogPromLogger) Println(v ...any) { l.s.log.Error("Serving metrics", "err", fmt.Sprint(v...)) }

func (s *Simulator) health(w http.ResponseWriter, _ *http.Request) {
	if s.engine == EngineLlamaCPP {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Simulator) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []map[string]any{{
			"id":            s.model,
			"object":        "model",
			"created":       s.created.Unix(),
			"owned_by":      ownedBy(s.engine),
			"root":          s.model,
			"parent":        nil,
			"max_model_len": s.maxModelLen,
		}},
	})
}

func ownedBy(e Engine) string {
	switch e {
	case EngineTGI:
		return "text-generation-inference"
	case EngineSGLang:
		return "sglang"
	case EngineLlamaCPP:
		return "llamacpp"
	}
	return "vllm"
}

// simState is the JSON answer of the /sim endpoints.
type simState struct {
	Engine            Engine   `json:"engine"`
	Model             string   `json:"model"`
	Multiplier        float64  `json:"multiplier"`
	ArrivalRate       float64  `json:"arrival_rate"`
	CurrentRate       float64  `json:"current_rate"`
	FrontDelay        string   `json:"front_delay"`
	FrontDelaySeconds float64  `json:"front_delay_seconds"`
	Scenario          string   `json:"scenario"`
	Activity          Activity `json:"activity"`
}

func (s *Simulator) state() simState {
	fd := s.FrontDelay()
	return simState{
		Engine:            s.engine,
		Model:             s.model,
		Multiplier:        s.Load(),
		ArrivalRate:       s.core.baseRate,
		CurrentRate:       s.core.currentRate(),
		FrontDelay:        fd.String(),
		FrontDelaySeconds: fd.Seconds(),
		Scenario:          s.Scenario(),
		Activity:          s.Activity(),
	}
}

func (s *Simulator) getState(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.state())
}

func (s *Simulator) postLoad(w http.ResponseWriter, r *http.Request) {
	v, err := strconv.ParseFloat(r.FormValue("multiplier"), 64)
	if err != nil || v < 0 || v > MaxLoad || v != v {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("multiplier=%q: want a number between 0 and %v", r.FormValue("multiplier"), MaxLoad))
		return
	}
	s.SetLoad(v)
	writeJSON(w, http.StatusOK, s.state())
}

func (s *Simulator) postScenario(w http.ResponseWriter, r *http.Request) {
	if err := s.SetScenario(r.FormValue("name")); err != nil {
		writeError(w, http.StatusBadRequest, "name: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.state())
}

// metrics serves the current registry; while a restarted engine loads its
// model it answers 503, as a server that is not up yet fails a scrape.
func (s *Simulator) metrics(w http.ResponseWriter, r *http.Request) {
	if time.Now().UnixNano() < s.metricsFrom.Load() {
		writeError(w, http.StatusServiceUnavailable, "loading the model after a restart")
		return
	}
	promhttp.HandlerFor(s.reg.Load(), promhttp.HandlerOpts{ErrorLog: slogPromLogger{s}}).ServeHTTP(w, r)
}

func (s *Simulator) postFrontDelay(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.FormValue("d"))
	if err != nil || d < 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("d=%q: want a non-negative duration such as 2s or 250ms", r.FormValue("d")))
		return
	}
	s.SetFrontDelay(d)
	writeJSON(w, http.StatusOK, s.state())
}

// completionRequest holds the fields of the OpenAI completions and chat-completions requests
// that the simulator honours.
type completionRequest struct {
	Model               string          `json:"model"`
	Prompt              json.RawMessage `json:"prompt"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	IgnoreEOS bool `json:"ignore_eos"`
	N         *int `json:"n"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// estimateTokens approximates a tokenizer: about four characters per token.
func estimateTokens(text string) int {
	return max(1, (utf8.RuneCountInString(text)+3)/4)
}

// promptTokens counts the prompt of a completions request: a string, a list of strings, or a
// list of token ids.
func promptTokens(raw json.RawMessage) (int, error) {
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return estimateTokens(str), nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil && len(strs) > 0 {
		return estimateTokens(strings.Join(strs, "")), nil
	}
	var ids []int
	if err := json.Unmarshal(raw, &ids); err == nil && len(ids) > 0 {
		return len(ids), nil
	}
	return 0, errors.New("prompt must be a string, a list of strings or a list of token ids")
}

// chatTokens counts a chat prompt: the message texts plus the chat template's few tokens per
// message and the assistant header.
func chatTokens(msgs []chatMessage) (int, error) {
	if len(msgs) == 0 {
		return 0, errors.New("messages must not be empty")
	}
	n := 3
	for _, m := range msgs {
		n += 4
		var str string
		if err := json.Unmarshal(m.Content, &str); err == nil {
			n += estimateTokens(str)
			continue
		}
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(m.Content, &parts); err != nil {
			return 0, errors.New("message content must be a string or a list of parts")
		}
		for _, p := range parts {
			n += estimateTokens(p.Text)
		}
	}
	return n, nil
}

var vocabulary = strings.Fields(`the token path of a request runs through the queue into prefill and then
decode where every step adds one more word to the answer while the cache fills and the batch grows
so latency depends on load memory and the length of each prompt`)

func tokenText(id uint64, i int) string {
	return " " + vocabulary[(int(id%1009)*7+i*13)%len(vocabulary)]
}

func (s *Simulator) complete(w http.ResponseWriter, hr *http.Request, chat bool) {
	var req completionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, hr.Body, 4<<20))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	// vLLM checks the model name; TGI, SGLang and llama.cpp serve one model and ignore it
	// (TGI's own documentation sends "tgi").
	strictModel := s.engine == EngineVLLM || s.engine == EngineVLLMV0
	if strictModel && req.Model != "" && req.Model != s.model {
		writeErrorType(w, http.StatusNotFound, "NotFoundError", fmt.Sprintf("The model %#q does not exist.", req.Model))
		return
	}
	if req.N != nil && *req.N != 1 {
		writeError(w, http.StatusBadRequest, "only n=1 is supported")
		return
	}
	var prompt int
	var err error
	if chat {
		prompt, err = chatTokens(req.Messages)
	} else {
		prompt, err = promptTokens(req.Prompt)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	maxTokens := s.maxModelLen - prompt
	if req.MaxCompletionTokens != nil {
		maxTokens = *req.MaxCompletionTokens
	}
	if req.MaxTokens != nil {
		maxTokens = *req.MaxTokens
	}
	switch {
	case maxTokens < 1:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("max_tokens must be at least 1, got %d.", maxTokens))
		return
	case prompt+maxTokens > s.maxModelLen:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(
			"This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
			s.maxModelLen, prompt+maxTokens, prompt, maxTokens,
		))
		return
	}

	// The front delay is spent before the request reaches the server, so the engine's
	// histograms never see it.
	if d := s.FrontDelay(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-hr.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}

	r := &request{arrival: time.Now(), prompt: prompt, maxTokens: maxTokens}
	natural := maxTokens
	if !req.IgnoreEOS {
		natural = s.core.httpOutputLength(s.maxModelLen - prompt)
	}
	r.target, r.reason = natural, reasonStop
	if natural >= maxTokens {
		r.target, r.reason = maxTokens, reasonLength
	}
	r.events = make(chan tokenEvent, r.target+1)
	if err := s.core.submit(r); err != nil {
		writeErrorType(w, http.StatusServiceUnavailable, "ServiceUnavailableError", err.Error())
		return
	}
	c := completionIDs{chat: chat, model: s.model, id: r.id, created: r.arrival.Unix()}
	if req.Stream {
		usage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		s.stream(w, hr, r, c, usage)
		return
	}
	s.wait(w, hr, r, c)
}

type completionIDs struct {
	chat    bool
	model   string
	id      uint64
	created int64
}

func (c completionIDs) idString() string {
	if c.chat {
		return fmt.Sprintf("chatcmpl-%016x", c.id)
	}
	return fmt.Sprintf("cmpl-%016x", c.id)
}

func (c completionIDs) object(stream bool) string {
	switch {
	case c.chat && stream:
		return "chat.completion.chunk"
	case c.chat:
		return "chat.completion"
	}
	return "text_completion"
}

func (c completionIDs) envelope(stream bool, choices any) map[string]any {
	return map[string]any{"id": c.idString(), "object": c.object(stream), "created": c.created, "model": c.model, "choices": choices}
}

func usageOf(r *request, completion int) map[string]int {
	return map[string]int{"prompt_tokens": r.prompt, "completion_tokens": completion, "total_tokens": r.prompt + completion}
}

// stream answers with server-sent events: one chunk per generated token, sent as soon as the
// engine step that produced it ends; the first chunk comes when the prefill finishes.
func (s *Simulator) stream(w http.ResponseWriter, hr *http.Request, r *request, c completionIDs, includeUsage bool) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	send := func(v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	completion := 0
	for {
		select {
		case <-hr.Context().Done():
			r.abort.Store(true)
			return
		case ev := <-r.events:
			if ev.index < 0 {
				send(map[string]any{"error": map[string]any{"message": "request aborted: the server is shutting down", "type": "ServiceUnavailableError", "code": http.StatusServiceUnavailable}})
				return
			}
			completion = ev.index + 1
			var finish any
			if ev.final {
				finish = ev.reason
			}
			text := tokenText(r.id, ev.index)
			var choice map[string]any
			if c.chat {
				if ev.index == 0 && !send(c.envelope(true, []map[string]any{{
					"index": 0, "delta": map[string]any{"role": "assistant", "content": ""}, "logprobs": nil, "finish_reason": nil,
				}})) {
					r.abort.Store(true)
					return
				}
				choice = map[string]any{"index": 0, "delta": map[string]any{"content": text}, "logprobs": nil, "finish_reason": finish}
			} else {
				choice = map[string]any{"index": 0, "text": text, "logprobs": nil, "finish_reason": finish, "stop_reason": nil}
			}
			if !send(c.envelope(true, []map[string]any{choice})) {
				r.abort.Store(true)
				return
			}
			if !ev.final {
				continue
			}
			if includeUsage {
				env := c.envelope(true, []any{})
				env["usage"] = usageOf(r, completion)
				send(env)
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
			if flusher != nil {
				flusher.Flush()
			}
			return
		}
	}
}

// wait answers a non-streaming request once its last token is generated.
func (s *Simulator) wait(w http.ResponseWriter, hr *http.Request, r *request, c completionIDs) {
	var text strings.Builder
	for {
		select {
		case <-hr.Context().Done():
			r.abort.Store(true)
			return
		case ev := <-r.events:
			if ev.index < 0 {
				writeErrorType(w, http.StatusServiceUnavailable, "ServiceUnavailableError", "request aborted: the server is shutting down")
				return
			}
			text.WriteString(tokenText(r.id, ev.index))
			if !ev.final {
				continue
			}
			var choice map[string]any
			if c.chat {
				choice = map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text.String()}, "logprobs": nil, "finish_reason": ev.reason}
			} else {
				choice = map[string]any{"index": 0, "text": text.String(), "logprobs": nil, "finish_reason": ev.reason, "stop_reason": nil}
			}
			env := c.envelope(false, []map[string]any{choice})
			env["usage"] = usageOf(r, ev.index+1)
			writeJSON(w, http.StatusOK, env)
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do about it
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeErrorType(w, code, "BadRequestError", msg)
}

// writeErrorType writes vLLM's OpenAI-style error body.
func writeErrorType(w http.ResponseWriter, code int, typ, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
}
