package sim

// Bucket boundaries of the real servers, from /work/shared/reference/inference-metrics.md
// (vLLM §1.4 and §1.6, TGI §2.1, SGLang §3.1) and the vLLM V0 scrape in testdata.

var (
	// vLLM V1 (upstream defaults from about v0.8.2 through 2026).
	vllmTTFTBuckets = []float64{
		0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
		2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
	}
	vllmITLBuckets = []float64{
		0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
		5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
	}
	vllmRequestLatencyBuckets = []float64{
		0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
		40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
	}
	vllmParamsNBuckets         = []float64{1, 2, 5, 10, 20}
	vllmIterationTokensBuckets = []float64{1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}

	// vLLM V0 (v0.4–0.5, as in the real scrape).
	vllmV0TTFTBuckets = []float64{
		0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
		2.5, 5.0, 7.5, 10.0,
	}
	vllmV0TPOTBuckets = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}
	vllmV0E2EBuckets  = []float64{1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0}

	// SGLang collector defaults.
	sglangTTFTBuckets = []float64{0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400}
	sglangITLBuckets  = []float64{
		0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035,
		0.040, 0.060, 0.080, 0.100, 0.200, 0.400, 0.600, 0.800, 1.000, 2.000, 4.000, 6.000, 8.000,
	}
	sglangE2EBuckets = []float64{
		0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400,
		600, 1200, 1800, 2400,
	}
	sglangQueueBuckets = []float64{
		0.0, 0.1, 0.2, 0.5, 1, 2, 3, 4, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90,
		100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1200, 1400, 1600, 1800, 2000, 2500, 3000,
	}
)

// vllmTokenBuckets is vLLM's 1-2-5 series up to and including maxModelLen.
func vllmTokenBuckets(maxModelLen int) []float64 {
	var out []float64
	for mag := 1; ; mag *= 10 {
		for _, m := range []int{1, 2, 5} {
			v := m * mag
			if v > maxModelLen {
				return out
			}
			out = append(out, float64(v))
		}
	}
}

// tgiDurationBuckets reproduces TGI's loop in router/src/server.rs: start at 0.0001 and
// multiply by 1.5 thirty-five times, pushing after each multiplication (so the first bucket is
// 0.00015). Repeated multiplication, not math.Pow, so the floats match TGI's bit for bit.
func tgiDurationBuckets() []float64 {
	out := make([]float64, 0, 35)
	v := 0.0001
	for range 35 {
		v *= 1.5
		out = append(out, v)
	}
	return out
}

// tgiLinearBuckets is TGI's (max/100)·(1…100).
func tgiLinearBuckets(maxTokens int) []float64 {
	out := make([]float64, 100)
	for i := range out {
		out[i] = float64(maxTokens) / 100.0 * float64(i+1)
	}
	return out
}

// tgiBatchSizeBuckets is 1, 2, …, 1024.
func tgiBatchSizeBuckets() []float64 {
	out := make([]float64, 1024)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}
