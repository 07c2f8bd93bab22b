package sim

import (
	"fmt"
	"strings"
)

// Engine names the inference server whose /metrics exposition the simulator imitates. The
// simulated scheduler is the same for every engine; only the exposition differs.
type Engine string

// The engines the simulator can expose.
const (
	// EngineVLLM is vLLM V1 with the current (2026) metric names and buckets.
	EngineVLLM Engine = "vllm"
	// EngineVLLMV0 is the legacy vLLM V0 engine (mid-2024 names and short bucket lists).
	EngineVLLMV0 Engine = "vllm-v0"
	// EngineTGI is Hugging Face text-generation-inference (tgi_* names, no model label).
	EngineTGI Engine = "tgi"
	// EngineSGLang is SGLang with --enable-metrics (sglang:* names).
	EngineSGLang Engine = "sglang"
	// EngineLlamaCPP is the llama.cpp server with --metrics (llamacpp:* counters and gauges).
	EngineLlamaCPP Engine = "llamacpp"
)

// Engines lists every engine ParseEngine accepts, in a stable order.
func Engines() []Engine {
	return []Engine{EngineVLLM, EngineVLLMV0, EngineTGI, EngineSGLang, EngineLlamaCPP}
}

// ParseEngine turns a command-line value into an Engine. It accepts the exact names and a few
// common spellings ("vllm-v1", "vllmv0", "llama.cpp", "llama-cpp").
func ParseEngine(s string) (Engine, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "vllm", "vllm-v1", "vllm_v1", "vllmv1":
		return EngineVLLM, nil
	case "vllm-v0", "vllm_v0", "vllmv0":
		return EngineVLLMV0, nil
	case "tgi", "text-generation-inference":
		return EngineTGI, nil
	case "sglang":
		return EngineSGLang, nil
	case "llamacpp", "llama.cpp", "llama-cpp", "llama_cpp":
		return EngineLlamaCPP, nil
	}
	return "", fmt.Errorf("unknown engine %q (want one of vllm, vllm-v0, tgi, sglang, llamacpp)", s)
}

// DefaultModel is the model name a simulator of engine e serves when Options.Model is empty.
// vllm-v0 defaults to the model of the real V0 scrape in testdata so that its token-count
// buckets (1-2-5 up to max_model_len 2048) match that scrape.
func DefaultModel(e Engine) string {
	switch e {
	case EngineVLLMV0:
		return "facebook/opt-125m"
	case EngineLlamaCPP:
		return "Llama-3.1-8B-Instruct-Q4_K_M.gguf"
	default:
		return "meta-llama/Llama-3.1-8B-Instruct"
	}
}

// maxModelLen is the context length the simulated server enforces; it also sets the
// token-count bucket lists of the vLLM expositions.
func maxModelLen(e Engine) int {
	if e == EngineVLLMV0 {
		return 2048
	}
	return 8192
}
