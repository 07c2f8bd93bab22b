package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseEngine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Engine
		wantErr bool
	}{
		{"vllm", EngineVLLM, false},
		{"VLLM", EngineVLLM, false},
		{"vllm-v1", EngineVLLM, false},
		{"vllm-v0", EngineVLLMV0, false},
		{"tgi", EngineTGI, false},
		{"sglang", EngineSGLang, false},
		{"llamacpp", EngineLlamaCPP, false},
		{"llama.cpp", EngineLlamaCPP, false},
		{"ollama", "", true},
		{"", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseEngine(tc.in)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		o         Options
		wantErr   bool
		wantModel string
		wantLoad  float64
		wantRate  float64
	}{
		{name: "defaults", o: Options{}, wantModel: "meta-llama/Llama-3.1-8B-Instruct", wantLoad: 1, wantRate: 2},
		{name: "v0 default model", o: Options{Engine: EngineVLLMV0}, wantModel: "facebook/opt-125m", wantLoad: 1, wantRate: 2},
		{name: "explicit", o: Options{Engine: EngineTGI, Model: "m", Load: 3, ArrivalRate: 5}, wantModel: "m", wantLoad: 3, wantRate: 5},
		{name: "unknown engine", o: Options{Engine: "triton"}, wantErr: true},
		{name: "negative rate", o: Options{ArrivalRate: -1}, wantErr: true},
		{name: "negative load", o: Options{Load: -1}, wantErr: true},
		{name: "huge load", o: Options{Load: MaxLoad + 1}, wantErr: true},
		{name: "negative front delay", o: Options{FrontDelay: -1}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.o)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantModel, s.Model())
			require.InDelta(t, tc.wantLoad, s.Load(), 0)
			require.InDelta(t, tc.wantRate, s.core.baseRate, 0)
		})
	}
}

func TestOpenAIAPI(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Engine: EngineVLLM, Seed: 2}, func(s *Simulator) { s.SetLoad(0) })
	const model = "meta-llama/Llama-3.1-8B-Instruct"

	t.Run("health", func(t *testing.T) {
		resp, err := h.srv.Client().Get(h.srv.URL + "/health")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("models", func(t *testing.T) {
		resp, err := h.srv.Client().Get(h.srv.URL + "/v1/models")
		require.NoError(t, err)
		defer resp.Body.Close()
		var out struct {
			Object string `json:"object"`
			Data   []struct {
				ID          string `json:"id"`
				Object      string `json:"object"`
				MaxModelLen int    `json:"max_model_len"`
			} `json:"data"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		require.Equal(t, "list", out.Object)
		require.Len(t, out.Data, 1)
		require.Equal(t, model, out.Data[0].ID)
		require.Equal(t, 8192, out.Data[0].MaxModelLen)
	})

	errorCases := []struct {
		name string
		path string
		body any
		code int
	}{
		{"unknown model", "/v1/completions", map[string]any{"model": "gpt-2", "prompt": "x"}, 404},
		{"no prompt", "/v1/completions", map[string]any{"max_tokens": 3}, 400},
		{"no messages", "/v1/chat/completions", map[string]any{"max_tokens": 3}, 400},
		{"too long", "/v1/completions", map[string]any{"prompt": "x", "max_tokens": 9000}, 400},
		{"zero max_tokens", "/v1/completions", map[string]any{"prompt": "x", "max_tokens": 0}, 400},
		{"n=2", "/v1/completions", map[string]any{"prompt": "x", "n": 2}, 400},
		{"not json", "/v1/completions", "{", 400},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.postJSON(t, tc.path, tc.body)
			require.Equal(t, tc.code, code)
			e, ok := out["error"].(map[string]any)
			require.True(t, ok, out)
			require.NotEmpty(t, e["message"])
			require.InDelta(t, float64(tc.code), e["code"], 0)
		})
	}

	t.Run("completion honours max_tokens", func(t *testing.T) {
		code, out := h.postJSON(t, "/v1/completions", map[string]any{"model": model, "prompt": strings.Repeat("word ", 100), "max_tokens": 5, "ignore_eos": true})
		require.Equal(t, 200, code, out)
		require.Equal(t, "text_completion", out["object"])
		usage := out["usage"].(map[string]any)
		require.InDelta(t, 5.0, usage["completion_tokens"], 0)
		require.InDelta(t, 125.0, usage["prompt_tokens"], 0) // 500 characters at four per token
		choice := out["choices"].([]any)[0].(map[string]any)
		require.Equal(t, "length", choice["finish_reason"])
		require.Len(t, strings.Fields(choice["text"].(string)), 5)
	})
	t.Run("chat stops at EOS or max_tokens", func(t *testing.T) {
		for range 5 {
			code, out := h.postJSON(t, "/v1/chat/completions", map[string]any{
				"messages": []map[string]any{{"role": "user", "content": "Say hi"}}, "max_tokens": 3,
			})
			require.Equal(t, 200, code, out)
			require.Equal(t, "chat.completion", out["object"])
			n := out["usage"].(map[string]any)["completion_tokens"].(float64)
			require.GreaterOrEqual(t, n, 1.0)
			require.LessOrEqual(t, n, 3.0)
			choice := out["choices"].([]any)[0].(map[string]any)
			want := "stop"
			if n == 3 {
				want = "length"
			}
			require.Equal(t, want, choice["finish_reason"])
			require.Equal(t, "assistant", choice["message"].(map[string]any)["role"])
		}
	})
	t.Run("chat streaming with usage", func(t *testing.T) {
		res := h.streamRequest(t, "/v1/chat/completions", map[string]any{
			"messages":       []map[string]any{{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Count to ten"}},
			"max_tokens":     6,
			"ignore_eos":     true,
			"stream_options": map[string]any{"include_usage": true},
		})
		require.True(t, res.done, "stream must end with [DONE]")
		require.Len(t, res.contents, 6)
		// Role chunk, six content chunks, usage chunk.
		require.Len(t, res.chunks, 8)
		first := res.chunks[0]["choices"].([]any)[0].(map[string]any)
		require.Equal(t, "assistant", first["delta"].(map[string]any)["role"])
		last := res.chunks[6]["choices"].([]any)[0].(map[string]any)
		require.Equal(t, "length", last["finish_reason"])
		require.Empty(t, res.chunks[7]["choices"])
		require.InDelta(t, 6.0, res.usage["completion_tokens"], 0)
		for _, c := range res.chunks {
			require.Equal(t, "chat.completion.chunk", c["object"])
			require.Equal(t, res.chunks[0]["id"], c["id"])
		}
	})
	t.Run("completion streaming without usage", func(t *testing.T) {
		res := h.streamRequest(t, "/v1/completions", map[string]any{"prompt": "Once upon a time", "max_tokens": 4, "ignore_eos": true})
		require.True(t, res.done)
		require.Len(t, res.chunks, 4)
		require.Nil(t, res.usage)
	})
}

// TestModelFieldPerEngine checks that only vLLM rejects a model name it does not serve.
func TestModelFieldPerEngine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		engine Engine
		want   int
	}{
		{EngineVLLM, http.StatusNotFound},
		{EngineVLLMV0, http.StatusNotFound},
		{EngineTGI, http.StatusOK},
		{EngineSGLang, http.StatusOK},
		{EngineLlamaCPP, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(string(tc.engine), func(t *testing.T) {
			t.Parallel()
			h := start(t, Options{Engine: tc.engine, Seed: 1}, func(s *Simulator) { s.SetLoad(0) })
			code, out := h.postJSON(t, "/v1/chat/completions", map[string]any{
				"model": "tgi", "messages": []map[string]any{{"role": "user", "content": "hi"}}, "max_tokens": 2,
			})
			require.Equal(t, tc.want, code, out)
		})
	}
}

func TestSimControlEndpoints(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Engine: EngineSGLang, Seed: 2}, func(s *Simulator) { s.SetLoad(0) })
	tests := []struct {
		name  string
		path  string
		code  int
		check func(t *testing.T, st simState)
	}{
		{"set load", "/sim/load?multiplier=8", 200, func(t *testing.T, st simState) {
			require.InDelta(t, 8.0, st.Multiplier, 0)
			require.InDelta(t, 8.0, h.sim.Load(), 0)
		}},
		{"load not a number", "/sim/load?multiplier=lots", 400, nil},
		{"load negative", "/sim/load?multiplier=-1", 400, nil},
		{"load back to zero", "/sim/load?multiplier=0", 200, func(t *testing.T, st simState) {
			require.Zero(t, st.Multiplier)
			require.Zero(t, st.CurrentRate)
		}},
		{"front delay", "/sim/front_delay?d=1500ms", 200, func(t *testing.T, st simState) {
			require.Equal(t, "1.5s", st.FrontDelay)
			require.InDelta(t, 1.5, st.FrontDelaySeconds, 0)
			require.InDelta(t, 1500*1e6, float64(h.sim.FrontDelay()), 0)
		}},
		{"front delay bad", "/sim/front_delay?d=soon", 400, nil},
		{"front delay reset", "/sim/front_delay?d=0s", 200, func(t *testing.T, st simState) {
			require.Zero(t, st.FrontDelaySeconds)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.srv.Client().Post(h.srv.URL+tc.path, "", nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.code, resp.StatusCode)
			if tc.check == nil {
				return
			}
			var st simState
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
			require.Equal(t, EngineSGLang, st.Engine)
			tc.check(t, st)
		})
	}
	resp, err := h.srv.Client().Get(h.srv.URL + "/sim/load")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var st simState
	require.NoError(t, json.Unmarshal(b, &st))
	require.InDelta(t, 2.0, st.ArrivalRate, 0)
	require.Equal(t, "meta-llama/Llama-3.1-8B-Instruct", st.Model)
}
