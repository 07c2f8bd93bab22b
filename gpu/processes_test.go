//go:build linux && cgo

package gpu

import (
	"os"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/stretchr/testify/require"
)

// TestRunningProcesses lists compute and graphics processes per GPU, memory known or not,
// each PID once, and leaves out a GPU whose lists cannot be read (unknown, not empty).
func TestRunningProcesses(t *testing.T) {
	srv := newDGX(t)
	for i, dev := range srv.Devices {
		d := dev.(*server.Device)
		d.GetGraphicsRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			switch i {
			case 2:
				return []nvml.ProcessInfo{{Pid: 1002, UsedGpuMemory: gib}, {Pid: 7000, UsedGpuMemory: gib}}, nvml.SUCCESS
			case 5:
				return nil, nvml.ERROR_UNKNOWN
			}
			return nil, nvml.SUCCESS
		}
		if i == 5 {
			d.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.ERROR_UNKNOWN }
		}
	}
	c, err := NewCollector(CollectorOptions{Library: newAdapter(nil, srv)})
	require.NoError(t, err)
	got, err := c.RunningProcesses()
	require.NoError(t, err)
	require.Len(t, got, 7, "GPU 5 answers neither list")
	byIndex := map[int]DeviceProcesses{}
	for _, g := range got {
		byIndex[g.Index] = g
	}
	require.NotContains(t, byIndex, 5)
	// newDGX lists 1000+i (memory known) and 9999 (memory not available) on every GPU.
	require.Equal(t, DeviceProcesses{Index: 0, UUID: "GPU-00000000-0000-4000-8000-000000000000", PIDs: []uint32{1000, 9999}}, byIndex[0])
	require.Equal(t, []uint32{1002, 9999, 7000}, byIndex[2].PIDs)
}

// TestRunningProcessesUnavailable: without NVML there is nothing to list, and it says so.
func TestRunningProcessesUnavailable(t *testing.T) {
	srv := newDGX(t)
	srv.InitFunc = func() nvml.Return { return nvml.ERROR_DRIVER_NOT_LOADED }
	c, err := NewCollector(CollectorOptions{Library: newAdapter(nil, srv)})
	require.NoError(t, err)
	_, err = c.RunningProcesses()
	require.ErrorIs(t, err, ErrUninitialized)
}

// TestSimulatedProcessIsTokenpath: the demo's servers run inside tokenpath, so the simulated
// GPUs list tokenpath's own PID, and the demo's targets map to them.
func TestSimulatedProcessIsTokenpath(t *testing.T) {
	c, err := NewCollector(CollectorOptions{Library: NewSimulated(func() float64 { return 0.5 })})
	require.NoError(t, err)
	got, err := c.RunningProcesses()
	require.NoError(t, err)
	require.Len(t, got, 8)
	for _, g := range got {
		require.Equal(t, []uint32{uint32(os.Getpid())}, g.PIDs, "GPU %d", g.Index)
	}
}
