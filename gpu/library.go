// Package gpu reads NVIDIA GPUs through NVML and exposes them as Prometheus metrics.
//
// The collector is written against Library, a narrow interface declared here. The only
// implementation that talks to a driver lives in nvml_linux.go (build tag linux && cgo), the
// one file that imports go-nvml; every other build gets nvml_stub.go, whose Library reports
// NVML as unavailable. That keeps CGO_ENABLED=0 builds and tests working.
package gpu

import (
	"errors"
	"fmt"
)

// Library is the part of NVML the collector needs.
//
// Implementations must refuse every call other than Init until Init has succeeded, and must
// not call an NVML function that the loaded driver does not export (doing either kills the
// process with "undefined symbol"); they return ErrFunctionNotFound instead. Methods are safe
// for concurrent use once Init has returned.
type Library interface {
	// Init loads and initialises NVML. It may be called again after Shutdown.
	Init() error
	// Shutdown releases NVML. Device and EventSet values obtained before are invalid after it.
	Shutdown() error
	// DriverVersion is the kernel driver's version string, e.g. "550.54.15".
	DriverVersion() (string, error)
	// DeviceCount is the number of GPUs NVML sees.
	DeviceCount() (int, error)
	// Device returns the GPU with the given NVML index.
	Device(index int) (Device, error)
	// ProcessName returns the name of a host process that uses a GPU.
	ProcessName(pid uint32) (string, error)
	// NewEventSet creates an NVML event set for XID and GPU-lost events.
	NewEventSet() (EventSet, error)
	// GPMMetrics computes the GPM metrics between two samples of the same device, taken at
	// least 100 ms apart.
	GPMMetrics(older, newer GPMSample) (GPMValues, error)
}

// Device is one physical GPU (or, from MIGDevices, one MIG instance).
type Device interface {
	// Identity returns the GPU's stable identity. Only a missing UUID is an error.
	Identity() (Identity, error)
	// Memory returns framebuffer memory in bytes.
	Memory() (Memory, error)
	// Utilization returns NVML's GPU and memory utilisation, percent of the sample window.
	Utilization() (Utilization, error)
	// Temperature returns the GPU core temperature in °C.
	Temperature() (uint32, error)
	// PowerUsage returns the board power draw in milliwatts.
	PowerUsage() (uint32, error)
	// EnforcedPowerLimit returns the power limit the driver enforces, in milliwatts.
	EnforcedPowerLimit() (uint32, error)
	// TotalEnergy returns the energy used since the driver loaded, in millijoules.
	TotalEnergy() (uint64, error)
	// Clock returns the current clock of the given domain in MHz.
	Clock(ClockDomain) (uint32, error)
	// PCIeThroughput returns PCIe traffic in KiB/s over a 20 ms window; each call blocks ~20 ms.
	PCIeThroughput(PCIeDirection) (uint32, error)
	// ClockEventReasons returns the bit mask of reasons the clocks are held down (ClockReason*).
	ClockEventReasons() (uint64, error)
	// ECCErrors returns volatile ECC error counts (since the driver loaded).
	ECCErrors(ECCErrorType) (uint64, error)
	// RemappedRows returns the HBM row-remapping state (Ampere and later).
	RemappedRows() (RemappedRows, error)
	// ComputeProcesses lists processes with a compute context on the GPU.
	ComputeProcesses() ([]Process, error)
	// GraphicsProcesses lists processes with a graphics context on the GPU.
	GraphicsProcesses() ([]Process, error)
	// MIGEnabled reports whether MIG mode is currently on.
	MIGEnabled() (bool, error)
	// MIGDevices lists the MIG instances of a GPU in MIG mode.
	MIGDevices() ([]MIGDevice, error)
	// GPMSupported reports whether the GPU supports GPM metrics (Hopper and later).
	GPMSupported() (bool, error)
	// GPMSample takes a GPM sample; Free it when done.
	GPMSample() (GPMSample, error)
	// RegisterEvents adds the GPU's XID and GPU-lost events to set.
	RegisterEvents(set EventSet) error
}

// EventSet is an NVML event set. Wait and Free must not be called concurrently.
type EventSet interface {
	// Wait blocks up to timeoutMs for an event; ErrTimeout means nothing happened.
	Wait(timeoutMs uint32) (Event, error)
	// Free releases the set.
	Free() error
}

// GPMSample is an opaque GPM sample buffer.
type GPMSample interface {
	// Free releases the sample.
	Free() error
}

// Identity is what names a GPU in every series.
type Identity struct {
	UUID     string
	Name     string
	PCIBusID string // "00000000:18:00.0"
	Minor    int    // N of /dev/nvidiaN; -1 when unknown
}

// Memory is framebuffer memory in bytes. Reserved is what the driver and firmware keep; it is
// 0 when the driver only has the v1 call (where Used then includes it).
type Memory struct {
	Total, Used, Free, Reserved uint64
	HasReserved                 bool
}

// Utilization is NVML's utilisation, each a percent of the sampling window (a share of time,
// not of capacity).
type Utilization struct {
	GPU, Memory uint32
}

// ClockDomain selects a clock.
type ClockDomain int

// Clock domains.
const (
	ClockSM ClockDomain = iota
	ClockMemory
)

// PCIeDirection selects PCIe transmit or receive.
type PCIeDirection int

// PCIe directions.
const (
	PCIeTX PCIeDirection = iota
	PCIeRX
)

// ECCErrorType selects corrected (single-bit) or uncorrected (double-bit) errors.
type ECCErrorType int

// ECC error types.
const (
	ECCCorrected ECCErrorType = iota
	ECCUncorrected
)

// Clock event ("throttle") reason bits, as in nvml.h.
const (
	ClockReasonGPUIdle                   uint64 = 0x1
	ClockReasonApplicationsClocksSetting uint64 = 0x2
	ClockReasonSWPowerCap                uint64 = 0x4
	ClockReasonHWSlowdown                uint64 = 0x8
	ClockReasonSyncBoost                 uint64 = 0x10
	ClockReasonSWThermalSlowdown         uint64 = 0x20
	ClockReasonHWThermalSlowdown         uint64 = 0x40
	ClockReasonHWPowerBrakeSlowdown      uint64 = 0x80
	ClockReasonDisplayClockSetting       uint64 = 0x100
)

// RemappedRows is the row-remapper state.
type RemappedRows struct {
	Correctable, Uncorrectable int
	Pending, Failed            bool
}

// Process is a process using GPU memory. UsedMemoryKnown is false when the driver cannot say
// (NVML_VALUE_NOT_AVAILABLE, e.g. without privileges).
type Process struct {
	PID             uint32
	UsedMemory      uint64
	UsedMemoryKnown bool
}

// MIGDevice is one MIG instance with its own handle.
type MIGDevice struct {
	Device
	GPUInstanceID, ComputeInstanceID int
}

// GPMValues are GPM metrics in percent (0–100); a field is NaN when the driver did not
// return it.
type GPMValues struct {
	GraphicsActivity, SMActivity, SMOccupancy, TensorActivity, DRAMBandwidth float64
}

// EventKind is the kind of an NVML event.
type EventKind int

// Event kinds.
const (
	EventXID EventKind = iota
	EventGPUUnavailable
	EventOther
)

// Event is one NVML event.
type Event struct {
	Kind EventKind
	// UUID of the GPU that raised it; empty when unknown.
	UUID string
	// XID is the Xid code for EventXID (999 = unknown).
	XID uint64
}

// Sentinel errors an implementation of Library wraps (compare with errors.Is).
var (
	ErrLibraryNotFound  = errors.New("NVML library not found")
	ErrUninitialized    = errors.New("NVML not initialised")
	ErrNotSupported     = errors.New("not supported by this GPU or driver")
	ErrNoPermission     = errors.New("no permission")
	ErrGPULost          = errors.New("GPU is lost")
	ErrTimeout          = errors.New("timeout")
	ErrFunctionNotFound = errors.New("function not exported by the loaded NVML library")
	ErrDriverNotLoaded  = errors.New("NVIDIA kernel driver not loaded")
	ErrVersionMismatch  = errors.New("driver/library version mismatch")
	ErrNotFound         = errors.New("not found")
	ErrNoData           = errors.New("no data")
)

// NVMLError is an NVML return code. It matches the sentinel errors above with errors.Is.
// The message comes from a table here rather than from nvmlErrorString, so formatting an
// error never calls into the driver library.
type NVMLError struct {
	Code int32
}

var nvmlErrorNames = map[int32]string{
	1: "ERROR_UNINITIALIZED", 2: "ERROR_INVALID_ARGUMENT", 3: "ERROR_NOT_SUPPORTED",
	4: "ERROR_NO_PERMISSION", 5: "ERROR_ALREADY_INITIALIZED", 6: "ERROR_NOT_FOUND",
	7: "ERROR_INSUFFICIENT_SIZE", 8: "ERROR_INSUFFICIENT_POWER", 9: "ERROR_DRIVER_NOT_LOADED",
	10: "ERROR_TIMEOUT", 11: "ERROR_IRQ_ISSUE", 12: "ERROR_LIBRARY_NOT_FOUND",
	13: "ERROR_FUNCTION_NOT_FOUND", 14: "ERROR_CORRUPTED_INFOROM", 15: "ERROR_GPU_IS_LOST",
	16: "ERROR_RESET_REQUIRED", 17: "ERROR_OPERATING_SYSTEM", 18: "ERROR_LIB_RM_VERSION_MISMATCH",
	19: "ERROR_IN_USE", 20: "ERROR_MEMORY", 21: "ERROR_NO_DATA", 22: "ERROR_VGPU_ECC_NOT_SUPPORTED",
	23: "ERROR_INSUFFICIENT_RESOURCES", 24: "ERROR_FREQ_NOT_SUPPORTED",
	25: "ERROR_ARGUMENT_VERSION_MISMATCH", 26: "ERROR_DEPRECATED", 27: "ERROR_NOT_READY",
	28: "ERROR_GPU_NOT_FOUND", 29: "ERROR_INVALID_STATE", 999: "ERROR_UNKNOWN",
}

// Error implements error.
func (e *NVMLError) Error() string {
	if n, ok := nvmlErrorNames[e.Code]; ok {
		return "NVML " + n
	}
	return fmt.Sprintf("NVML error %d", e.Code)
}

// Is matches the sentinel errors.
func (e *NVMLError) Is(target error) bool {
	switch e.Code {
	case 1:
		return target == ErrUninitialized
	case 3, 25: // gpud treats ARGUMENT_VERSION_MISMATCH as "not supported" too
		return target == ErrNotSupported
	case 4:
		return target == ErrNoPermission
	case 6:
		return target == ErrNotFound
	case 9:
		return target == ErrDriverNotLoaded
	case 10:
		return target == ErrTimeout
	case 12:
		return target == ErrLibraryNotFound
	case 13:
		return target == ErrFunctionNotFound
	case 15:
		return target == ErrGPULost
	case 18:
		return target == ErrVersionMismatch
	case 21:
		return target == ErrNoData
	}
	return false
}

// SimulatedWork is what a simulated GPU (NewSimulatedWork) is doing: Busy is the share of
// time it runs kernels (0–1, like NVML's utilisation), Compute the share of that time spent
// in compute-bound kernels (prefill) rather than bandwidth-bound ones (decode), 0–1.
type SimulatedWork struct {
	Busy, Compute float64
}
