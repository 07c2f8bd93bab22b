//go:build linux && cgo

package gpu

import (
	"reflect"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/stretchr/testify/require"
)

// nvmlCalls counts every call go-nvml's mock recorded, on the server and on each device, by
// calling each of their generated XxxCalls methods (one per NVML function) through reflection,
// so a new NVML call is counted without editing this list.
func nvmlCalls(srv *server.Server) int {
	count := func(v any) int {
		n := 0
		rv := reflect.ValueOf(v)
		for i := range rv.NumMethod() {
			m := rv.Type().Method(i)
			if !strings.HasSuffix(m.Name, "Calls") || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 {
				continue
			}
			if out := rv.Method(i).Call(nil)[0]; out.Kind() == reflect.Slice {
				n += out.Len()
			}
		}
		return n
	}
	n := count(srv)
	for _, d := range srv.Devices {
		n += count(d.(*server.Device))
	}
	return n
}

// The GPU's identity (UUID, name, PCI bus, minor number) does not change while NVML stays
// initialised, so it is read once per NVML session, not once per scrape.
func TestGPUCollectorReadsIdentityOnce(t *testing.T) {
	srv := newDGX(t)
	c, reg := newTestCollector(t, srv, true)
	for range 3 {
		_, err := reg.Gather()
		require.NoError(t, err)
	}
	for i := range srv.Devices {
		require.Len(t, dev(srv, i).GetUUIDCalls(), 1, "GPU %d", i)
		require.Len(t, dev(srv, i).GetNameCalls(), 1, "GPU %d", i)
		require.Len(t, dev(srv, i).GetMemoryInfo_v2Calls(), 3, "GPU %d: live values are read every scrape", i)
	}
	// A re-initialisation (after a lost GPU) reads the identity again: another GPU may now
	// sit at the same index.
	c.restart()
	_, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, dev(srv, 0).GetUUIDCalls(), 2)
}

// BenchmarkGPUCollect reports the time of one collection of go-nvml's mock DGX H100 (8 GPUs,
// both naming families) and the NVML calls it makes; gpu/README.md records the numbers.
func BenchmarkGPUCollect(b *testing.B) {
	srv := newDGX(b)
	_, reg := newTestCollector(b, srv, true)
	_, err := reg.Gather() // reads identities, primes GPM
	require.NoError(b, err)
	before := nvmlCalls(srv)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(nvmlCalls(srv)-before)/float64(b.N), "nvml-calls/op")
}
