//go:build !linux || !cgo

package gpu

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// Without cgo both constructors give a Library that never initialises, and the collector
// reports tokenpath_gpu_up 0 instead of failing.
func TestGPUStubBuild(t *testing.T) {
	for _, tc := range []struct {
		name string
		lib  Library
	}{
		{"NewNVML", NewNVML(nil, "")},
		{"NewSimulated", NewSimulated(func() float64 { return 1 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.lib.Init()
			require.ErrorIs(t, err, ErrLibraryNotFound)
			require.ErrorContains(t, err, "built without cgo")
			c, err := NewCollector(CollectorOptions{Library: tc.lib, DCGMNames: true})
			require.NoError(t, err)
			require.False(t, c.Available())
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, reg.Register(c))
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP tokenpath_gpu_up 1 when NVML is initialised and lists the GPUs, 0 when it is not usable (no driver, no cgo, version mismatch).
# TYPE tokenpath_gpu_up gauge
tokenpath_gpu_up 0
`)))
		})
	}
}
