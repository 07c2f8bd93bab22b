package gpu

import (
	"errors"
	"fmt"
)

// DeviceProcesses is one GPU and the host PIDs that hold a compute or graphics context on it.
type DeviceProcesses struct {
	Index int    // NVML index, the gpu label
	UUID  string // the uuid label
	PIDs  []uint32
}

// RunningProcesses lists, for every GPU NVML sees, the processes with a compute or graphics
// context on it (nvmlDeviceGetComputeRunningProcesses and …GraphicsRunningProcesses), memory
// known or not. The PIDs are in the host's PID namespace whatever namespace tokenpath runs in:
// the driver reports them so.
//
// It takes the collector's lock, so it waits for a collection in progress and, like one, for a
// driver that hangs: callers bound it (gpu/procmap runs it under its own timeout). A GPU that
// does not answer is left out; an error means no GPU could be listed (NVML unavailable, or
// nvmlDeviceGetCount failing).
func (c *Collector) RunningProcesses() ([]DeviceProcesses, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.available.Load() {
		return nil, fmt.Errorf("listing GPU processes: %w", ErrUninitialized)
	}
	n, err := c.lib.DeviceCount()
	if err != nil {
		return nil, fmt.Errorf("listing GPU processes: %w", err)
	}
	out := make([]DeviceProcesses, 0, n)
	for i := range n {
		dev, err := c.lib.Device(i)
		if err != nil {
			continue
		}
		uuid := ""
		if st := c.devices[i]; st != nil && st.idKnown {
			uuid = st.id.UUID
		} else if id, err := dev.Identity(); err == nil {
			uuid = id.UUID
		} else {
			continue
		}
		g := DeviceProcesses{Index: i, UUID: uuid}
		seen := map[uint32]bool{}
		compute, cerr := dev.ComputeProcesses()
		graphics, gerr := dev.GraphicsProcesses()
		if cerr != nil && gerr != nil {
			// Neither list: the GPU's processes are unknown, not absent.
			if !errors.Is(cerr, ErrNotSupported) && !errors.Is(cerr, ErrFunctionNotFound) {
				c.logger.Debug("listing a GPU's processes failed", "gpu", i, "uuid", uuid, "err", cerr)
			}
			continue
		}
		for _, p := range append(compute, graphics...) {
			if !seen[p.PID] {
				seen[p.PID] = true
				g.PIDs = append(g.PIDs, p.PID)
			}
		}
		out = append(out, g)
	}
	return out, nil
}
