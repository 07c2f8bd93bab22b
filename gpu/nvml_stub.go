//go:build !linux || !cgo

package gpu

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// errNoCgo says why NVML cannot be used in this build.
var errNoCgo = errors.New("NVML unavailable: built without cgo (or not on Linux)")

// NewNVML returns a Library whose Init fails: go-nvml needs cgo and Linux, and this binary
// was built without them. The collector then reports tokenpath_gpu_up 0.
func NewNVML(logger *slog.Logger, libraryPath string) Library {
	_, _ = logger, libraryPath
	return unavailable{err: errNoCgo}
}

// NewSimulated returns a Library whose Init fails: the simulated GPU is built on go-nvml's
// mock server, which needs cgo too.
func NewSimulated(load func() float64) Library {
	_ = load
	return unavailable{err: fmt.Errorf("simulated GPU unavailable: %w", errNoCgo)}
}

// NewSimulatedWork returns a Library whose Init fails, as NewSimulated.
func NewSimulatedWork(work func(gpu int) SimulatedWork) Library {
	_ = work
	return unavailable{err: fmt.Errorf("simulated GPU unavailable: %w", errNoCgo)}
}

// NewSimulatedWorkAt returns a Library whose Init fails, as NewSimulated.
func NewSimulatedWorkAt(work func(gpu int) SimulatedWork, now func() time.Time) Library {
	_, _ = work, now
	return unavailable{err: fmt.Errorf("simulated GPU unavailable: %w", errNoCgo)}
}

// unavailable is a Library that is never initialised; every call but Init reports
// ErrUninitialized.
type unavailable struct{ err error }

func (u unavailable) Init() error                  { return fmt.Errorf("%w: %w", ErrLibraryNotFound, u.err) }
func (u unavailable) Shutdown() error              { return nil }
func (unavailable) DriverVersion() (string, error) { return "", ErrUninitialized }
func (unavailable) DeviceCount() (int, error)      { return 0, ErrUninitialized }
func (unavailable) Device(int) (Device, error)     { return nil, ErrUninitialized }
func (unavailable) ProcessName(uint32) (string, error) {
	return "", ErrUninitialized
}
func (unavailable) NewEventSet() (EventSet, error) { return nil, ErrUninitialized }
func (unavailable) GPMMetrics(GPMSample, GPMSample) (GPMValues, error) {
	return GPMValues{}, ErrUninitialized
}
