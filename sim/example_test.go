package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

// A simulated vLLM server without synthetic traffic answers one OpenAI completion request;
// with ignore_eos it generates exactly max_tokens tokens.
func Example() {
	s, err := sim.New(sim.Options{Engine: sim.EngineVLLM, Seed: 1})
	if err != nil {
		panic(err)
	}
	s.SetLoad(0) // only the requests sent below
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	srv := httptest.NewServer(s.Handler())
	defer func() {
		cancel()
		<-done
		srv.Close()
	}()

	resp, err := http.Post(srv.URL+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt": "The token path", "max_tokens": 5, "ignore_eos": true}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var out struct {
		Model   string `json:"model"`
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		panic(err)
	}
	fmt.Println(out.Model, out.Usage.CompletionTokens, out.Choices[0].FinishReason)
	// Output: meta-llama/Llama-3.1-8B-Instruct 5 length
}
