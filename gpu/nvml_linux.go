//go:build linux && cgo

// This is the only file that imports go-nvml (it needs cgo). It holds the adapter from
// nvml.Interface to Library, used both for the real driver (NewNVML) and for go-nvml's own
// mock server (NewSimulated and the tests).

package gpu

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// NewNVML returns a Library backed by the driver's libnvidia-ml, loaded with dlopen at Init.
// An empty libraryPath uses the default "libnvidia-ml.so.1" found by the dynamic loader.
func NewNVML(logger *slog.Logger, libraryPath string) Library {
	var opts []nvml.LibraryOption
	if libraryPath != "" {
		opts = append(opts, nvml.WithLibraryPath(libraryPath))
	}
	return newAdapter(logger, nvml.New(opts...))
}

// NewNVMLFrom returns a Library over any nvml.Interface, such as go-nvml's own mock servers
// (go-nvml/pkg/nvml/mock/...): other packages' tests build GPUs with it that go through the same
// adapter as the real driver.
func NewNVMLFrom(logger *slog.Logger, lib nvml.Interface) Library {
	return newAdapter(logger, lib)
}

// newAdapter wraps any nvml.Interface (the real library or go-nvml's mock server).
func newAdapter(logger *slog.Logger, lib nvml.Interface) *nvmlLibrary {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &nvmlLibrary{lib: lib, logger: logger}
}

// nvmlLibrary adapts nvml.Interface to Library. It guards every call: nothing but Init runs
// before Init has succeeded, and nothing runs whose symbol the loaded library lacks. Both
// mistakes would otherwise end the process with "undefined symbol" (exit 127), which no
// recover() can catch.
type nvmlLibrary struct {
	lib    nvml.Interface
	logger *slog.Logger

	mu      sync.Mutex // serialises Init and Shutdown
	ready   atomic.Bool
	symbols atomic.Pointer[map[string]bool]
	warned  sync.Map // symbol group → struct{}: log each missing function once
}

// Symbols the adapter may call, checked once after Init. Groups list alternatives (newest
// first); go-nvml itself picks the versioned variant when it loads the library.
var nvmlSymbols = []string{
	"nvmlSystemGetDriverVersion", "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount",
	"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetUUID",
	"nvmlDeviceGetName", "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo",
	"nvmlDeviceGetMinorNumber", "nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetMemoryInfo",
	"nvmlDeviceGetUtilizationRates", "nvmlDeviceGetTemperature", "nvmlDeviceGetTemperatureV", "nvmlDeviceGetPowerUsage",
	"nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetTotalEnergyConsumption", "nvmlDeviceGetClockInfo",
	"nvmlDeviceGetPcieThroughput", "nvmlDeviceGetCurrentClocksEventReasons",
	"nvmlDeviceGetCurrentClocksThrottleReasons", "nvmlDeviceGetTotalEccErrors",
	"nvmlDeviceGetRemappedRows", "nvmlDeviceGetComputeRunningProcesses_v3",
	"nvmlDeviceGetComputeRunningProcesses_v2", "nvmlDeviceGetComputeRunningProcesses",
	"nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2",
	"nvmlDeviceGetGraphicsRunningProcesses",
	"nvmlSystemGetProcessName", "nvmlDeviceGetMigMode", "nvmlDeviceGetMaxMigDeviceCount",
	"nvmlDeviceGetMigDeviceHandleByIndex", "nvmlDeviceGetGpuInstanceId", "nvmlDeviceGetComputeInstanceId",
	"nvmlGpmQueryDeviceSupport", "nvmlGpmSampleAlloc", "nvmlGpmSampleFree", "nvmlGpmSampleGet",
	"nvmlGpmMetricsGet", "nvmlEventSetCreate", "nvmlEventSetFree", "nvmlEventSetWait_v2",
	"nvmlEventSetWait", "nvmlDeviceRegisterEvents", "nvmlDeviceGetSupportedEventTypes",
}

func nvmlErr(ret nvml.Return) error {
	if ret == nvml.SUCCESS {
		return nil
	}
	return &NVMLError{Code: int32(ret)}
}

// call wraps a non-success return with the NVML function's name.
func call(name string, ret nvml.Return) error {
	if ret == nvml.SUCCESS {
		return nil
	}
	return fmt.Errorf("%s: %w", name, nvmlErr(ret))
}

func (l *nvmlLibrary) Init() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ready.Load() {
		return nil
	}
	ret := l.lib.Init()
	if ret == nvml.ERROR_NO_PERMISSION {
		// The usual cause when tokenpath runs as a service user: say which
		// permission is missing and how to grant it.
		return fmt.Errorf("nvmlInit: %w: user %d may not open the NVIDIA devices (/dev/nvidiactl, /dev/nvidia*); "+
			"add it to the group that owns them (video on most systems), and under systemd allow them with DeviceAllow=char-nvidia* rw",
			nvmlErr(ret), os.Getuid())
	}
	if err := call("nvmlInit", ret); err != nil {
		return err
	}
	// LookupSymbol is only meaningful once the library is loaded, i.e. after Init.
	have := make(map[string]bool, len(nvmlSymbols))
	ext := l.lib.Extensions()
	for _, s := range nvmlSymbols {
		have[s] = ext.LookupSymbol(s) == nil
	}
	l.symbols.Store(&have)
	l.warned.Clear()
	l.ready.Store(true)
	return nil
}

func (l *nvmlLibrary) Shutdown() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ready.Swap(false) {
		return nil
	}
	return call("nvmlShutdown", l.lib.Shutdown())
}

// check returns nil when NVML is initialised and one of the alternative symbols is exported.
func (l *nvmlLibrary) check(symbols ...string) error {
	if !l.ready.Load() {
		return fmt.Errorf("%s: %w", symbols[0], ErrUninitialized)
	}
	have := *l.symbols.Load()
	for _, s := range symbols {
		if have[s] {
			return nil
		}
	}
	if _, dup := l.warned.LoadOrStore(symbols[0], struct{}{}); !dup {
		l.logger.Info("NVML function missing from the driver library; its metrics are skipped", "function", symbols[0])
	}
	return fmt.Errorf("%s: %w", symbols[0], ErrFunctionNotFound)
}

func (l *nvmlLibrary) has(symbol string) bool {
	if !l.ready.Load() {
		return false
	}
	return (*l.symbols.Load())[symbol]
}

func (l *nvmlLibrary) DriverVersion() (string, error) {
	if err := l.check("nvmlSystemGetDriverVersion"); err != nil {
		return "", err
	}
	v, ret := l.lib.SystemGetDriverVersion()
	return v, call("nvmlSystemGetDriverVersion", ret)
}

func (l *nvmlLibrary) DeviceCount() (int, error) {
	if err := l.check("nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"); err != nil {
		return 0, err
	}
	n, ret := l.lib.DeviceGetCount()
	return n, call("nvmlDeviceGetCount", ret)
}

func (l *nvmlLibrary) Device(index int) (Device, error) {
	if err := l.check("nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"); err != nil {
		return nil, err
	}
	d, ret := l.lib.DeviceGetHandleByIndex(index)
	if err := call("nvmlDeviceGetHandleByIndex", ret); err != nil {
		return nil, err
	}
	return &nvmlDevice{l: l, d: d}, nil
}

func (l *nvmlLibrary) ProcessName(pid uint32) (string, error) {
	if err := l.check("nvmlSystemGetProcessName"); err != nil {
		return "", err
	}
	n, ret := l.lib.SystemGetProcessName(int(pid))
	return n, call("nvmlSystemGetProcessName", ret)
}

func (l *nvmlLibrary) NewEventSet() (EventSet, error) {
	if err := l.check("nvmlEventSetCreate"); err != nil {
		return nil, err
	}
	if err := l.check("nvmlEventSetWait_v2", "nvmlEventSetWait"); err != nil {
		return nil, err
	}
	if err := l.check("nvmlEventSetFree"); err != nil {
		return nil, err
	}
	s, ret := l.lib.EventSetCreate()
	if err := call("nvmlEventSetCreate", ret); err != nil {
		return nil, err
	}
	return &nvmlEventSet{l: l, s: s}, nil
}

var gpmIDs = [...]nvml.GpmMetricId{
	nvml.GPM_METRIC_GRAPHICS_UTIL, nvml.GPM_METRIC_SM_UTIL, nvml.GPM_METRIC_SM_OCCUPANCY,
	nvml.GPM_METRIC_ANY_TENSOR_UTIL, nvml.GPM_METRIC_DRAM_BW_UTIL,
}

func (l *nvmlLibrary) GPMMetrics(older, newer GPMSample) (GPMValues, error) {
	nan := math.NaN()
	out := GPMValues{nan, nan, nan, nan, nan}
	if err := l.check("nvmlGpmMetricsGet"); err != nil {
		return out, err
	}
	o, ok1 := older.(*nvmlGPMSample)
	n, ok2 := newer.(*nvmlGPMSample)
	if !ok1 || !ok2 {
		return out, fmt.Errorf("nvmlGpmMetricsGet: foreign GPM sample: %w", ErrNotSupported)
	}
	mg := &nvml.GpmMetricsGetType{NumMetrics: uint32(len(gpmIDs)), Sample1: o.s, Sample2: n.s}
	for i, id := range gpmIDs {
		mg.Metrics[i].MetricId = uint32(id)
	}
	if err := call("nvmlGpmMetricsGet", l.lib.GpmMetricsGet(mg)); err != nil {
		return out, err
	}
	vals := make([]float64, len(gpmIDs))
	for i := range gpmIDs {
		vals[i] = nan
		if mg.Metrics[i].NvmlReturn == uint32(nvml.SUCCESS) {
			vals[i] = mg.Metrics[i].Value
		}
	}
	return GPMValues{vals[0], vals[1], vals[2], vals[3], vals[4]}, nil
}

type nvmlDevice struct {
	l *nvmlLibrary
	d nvml.Device
}

// cString converts a NUL-terminated C char array.
func cString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func (d *nvmlDevice) Identity() (Identity, error) {
	id := Identity{Minor: -1}
	if err := d.l.check("nvmlDeviceGetUUID"); err != nil {
		return id, err
	}
	u, ret := d.d.GetUUID()
	if err := call("nvmlDeviceGetUUID", ret); err != nil {
		return id, err
	}
	id.UUID = u
	// The rest is best effort; a GPU that is lost fails above already.
	if d.l.has("nvmlDeviceGetName") {
		if n, ret := d.d.GetName(); ret == nvml.SUCCESS {
			id.Name = n
		}
	}
	if d.l.check("nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo") == nil {
		if p, ret := d.d.GetPciInfo(); ret == nvml.SUCCESS {
			id.PCIBusID = cString(p.BusId[:])
		}
	}
	if d.l.has("nvmlDeviceGetMinorNumber") {
		if m, ret := d.d.GetMinorNumber(); ret == nvml.SUCCESS {
			id.Minor = m
		}
	}
	return id, nil
}

func (d *nvmlDevice) Memory() (Memory, error) {
	if d.l.has("nvmlDeviceGetMemoryInfo_v2") {
		m, ret := d.d.GetMemoryInfo_v2()
		if err := call("nvmlDeviceGetMemoryInfo_v2", ret); err != nil {
			return Memory{}, err
		}
		return Memory{Total: m.Total, Used: m.Used, Free: m.Free, Reserved: m.Reserved, HasReserved: true}, nil
	}
	if err := d.l.check("nvmlDeviceGetMemoryInfo"); err != nil {
		return Memory{}, err
	}
	m, ret := d.d.GetMemoryInfo()
	if err := call("nvmlDeviceGetMemoryInfo", ret); err != nil {
		return Memory{}, err
	}
	return Memory{Total: m.Total, Used: m.Used, Free: m.Free}, nil
}

func (d *nvmlDevice) Utilization() (Utilization, error) {
	if err := d.l.check("nvmlDeviceGetUtilizationRates"); err != nil {
		return Utilization{}, err
	}
	u, ret := d.d.GetUtilizationRates()
	return Utilization{GPU: u.Gpu, Memory: u.Memory}, call("nvmlDeviceGetUtilizationRates", ret)
}

func (d *nvmlDevice) Temperature() (uint32, error) {
	// nvmlDeviceGetTemperature is deprecated in NVML 13 but exported by every driver so far;
	// nvmlDeviceGetTemperatureV replaces it where a driver drops the old one.
	if !d.l.has("nvmlDeviceGetTemperature") && d.l.has("nvmlDeviceGetTemperatureV") {
		t, ret := d.d.GetTemperatureV().V1() // SensorType 0 is NVML_TEMPERATURE_GPU
		if err := call("nvmlDeviceGetTemperatureV", ret); err != nil {
			return 0, err
		}
		if t.Temperature < 0 {
			return 0, nil
		}
		return uint32(t.Temperature), nil
	}
	if err := d.l.check("nvmlDeviceGetTemperature", "nvmlDeviceGetTemperatureV"); err != nil {
		return 0, err
	}
	t, ret := d.d.GetTemperature(nvml.TEMPERATURE_GPU)
	return t, call("nvmlDeviceGetTemperature", ret)
}

func (d *nvmlDevice) PowerUsage() (uint32, error) {
	if err := d.l.check("nvmlDeviceGetPowerUsage"); err != nil {
		return 0, err
	}
	p, ret := d.d.GetPowerUsage()
	return p, call("nvmlDeviceGetPowerUsage", ret)
}

func (d *nvmlDevice) EnforcedPowerLimit() (uint32, error) {
	if err := d.l.check("nvmlDeviceGetEnforcedPowerLimit"); err != nil {
		return 0, err
	}
	p, ret := d.d.GetEnforcedPowerLimit()
	return p, call("nvmlDeviceGetEnforcedPowerLimit", ret)
}

func (d *nvmlDevice) TotalEnergy() (uint64, error) {
	if err := d.l.check("nvmlDeviceGetTotalEnergyConsumption"); err != nil {
		return 0, err
	}
	e, ret := d.d.GetTotalEnergyConsumption()
	return e, call("nvmlDeviceGetTotalEnergyConsumption", ret)
}

func (d *nvmlDevice) Clock(c ClockDomain) (uint32, error) {
	if err := d.l.check("nvmlDeviceGetClockInfo"); err != nil {
		return 0, err
	}
	t := nvml.CLOCK_SM
	if c == ClockMemory {
		t = nvml.CLOCK_MEM
	}
	v, ret := d.d.GetClockInfo(t)
	return v, call("nvmlDeviceGetClockInfo", ret)
}

func (d *nvmlDevice) PCIeThroughput(dir PCIeDirection) (uint32, error) {
	if err := d.l.check("nvmlDeviceGetPcieThroughput"); err != nil {
		return 0, err
	}
	c := nvml.PCIE_UTIL_TX_BYTES
	if dir == PCIeRX {
		c = nvml.PCIE_UTIL_RX_BYTES
	}
	v, ret := d.d.GetPcieThroughput(c)
	return v, call("nvmlDeviceGetPcieThroughput", ret)
}

func (d *nvmlDevice) ClockEventReasons() (uint64, error) {
	// The EventReasons name replaced ThrottleReasons in NVML 12.2; older drivers have only the latter.
	if d.l.has("nvmlDeviceGetCurrentClocksEventReasons") {
		v, ret := d.d.GetCurrentClocksEventReasons()
		return v, call("nvmlDeviceGetCurrentClocksEventReasons", ret)
	}
	if err := d.l.check("nvmlDeviceGetCurrentClocksThrottleReasons"); err != nil {
		return 0, err
	}
	v, ret := d.d.GetCurrentClocksThrottleReasons()
	return v, call("nvmlDeviceGetCurrentClocksThrottleReasons", ret)
}

func (d *nvmlDevice) ECCErrors(t ECCErrorType) (uint64, error) {
	if err := d.l.check("nvmlDeviceGetTotalEccErrors"); err != nil {
		return 0, err
	}
	et := nvml.MEMORY_ERROR_TYPE_CORRECTED
	if t == ECCUncorrected {
		et = nvml.MEMORY_ERROR_TYPE_UNCORRECTED
	}
	v, ret := d.d.GetTotalEccErrors(et, nvml.VOLATILE_ECC)
	return v, call("nvmlDeviceGetTotalEccErrors", ret)
}

func (d *nvmlDevice) RemappedRows() (RemappedRows, error) {
	if err := d.l.check("nvmlDeviceGetRemappedRows"); err != nil {
		return RemappedRows{}, err
	}
	c, u, p, f, ret := d.d.GetRemappedRows()
	return RemappedRows{Correctable: c, Uncorrectable: u, Pending: p, Failed: f}, call("nvmlDeviceGetRemappedRows", ret)
}

func (d *nvmlDevice) ComputeProcesses() ([]Process, error) {
	if err := d.l.check("nvmlDeviceGetComputeRunningProcesses_v3",
		"nvmlDeviceGetComputeRunningProcesses_v2", "nvmlDeviceGetComputeRunningProcesses"); err != nil {
		return nil, err
	}
	ps, ret := d.d.GetComputeRunningProcesses()
	return processes("nvmlDeviceGetComputeRunningProcesses", ps, ret)
}

func (d *nvmlDevice) GraphicsProcesses() ([]Process, error) {
	if err := d.l.check("nvmlDeviceGetGraphicsRunningProcesses_v3",
		"nvmlDeviceGetGraphicsRunningProcesses_v2", "nvmlDeviceGetGraphicsRunningProcesses"); err != nil {
		return nil, err
	}
	ps, ret := d.d.GetGraphicsRunningProcesses()
	return processes("nvmlDeviceGetGraphicsRunningProcesses", ps, ret)
}

// processes converts an NVML process list.
func processes(name string, ps []nvml.ProcessInfo, ret nvml.Return) ([]Process, error) {
	if err := call(name, ret); err != nil {
		return nil, err
	}
	out := make([]Process, 0, len(ps))
	for _, p := range ps {
		known := p.UsedGpuMemory != math.MaxUint64 // NVML_VALUE_NOT_AVAILABLE as unsigned long long
		out = append(out, Process{PID: p.Pid, UsedMemory: p.UsedGpuMemory, UsedMemoryKnown: known})
	}
	return out, nil
}

func (d *nvmlDevice) MIGEnabled() (bool, error) {
	if err := d.l.check("nvmlDeviceGetMigMode"); err != nil {
		return false, err
	}
	cur, _, ret := d.d.GetMigMode()
	return cur == nvml.DEVICE_MIG_ENABLE, call("nvmlDeviceGetMigMode", ret)
}

func (d *nvmlDevice) MIGDevices() ([]MIGDevice, error) {
	for _, s := range []string{
		"nvmlDeviceGetMaxMigDeviceCount", "nvmlDeviceGetMigDeviceHandleByIndex",
		"nvmlDeviceGetGpuInstanceId", "nvmlDeviceGetComputeInstanceId",
	} {
		if err := d.l.check(s); err != nil {
			return nil, err
		}
	}
	n, ret := d.d.GetMaxMigDeviceCount()
	if err := call("nvmlDeviceGetMaxMigDeviceCount", ret); err != nil {
		return nil, err
	}
	var out []MIGDevice
	for i := range n {
		m, ret := d.d.GetMigDeviceHandleByIndex(i)
		if ret == nvml.ERROR_NOT_FOUND || ret == nvml.ERROR_INVALID_ARGUMENT {
			continue // an empty slot
		}
		if err := call("nvmlDeviceGetMigDeviceHandleByIndex", ret); err != nil {
			return out, err
		}
		gi, ret := m.GetGpuInstanceId()
		if err := call("nvmlDeviceGetGpuInstanceId", ret); err != nil {
			return out, err
		}
		ci, ret := m.GetComputeInstanceId()
		if err := call("nvmlDeviceGetComputeInstanceId", ret); err != nil {
			return out, err
		}
		out = append(out, MIGDevice{Device: &nvmlDevice{l: d.l, d: m}, GPUInstanceID: gi, ComputeInstanceID: ci})
	}
	return out, nil
}

func (d *nvmlDevice) GPMSupported() (bool, error) {
	// nvmlGpmSampleGet and friends exist only in newer drivers: all of them or no GPM.
	for _, s := range []string{
		"nvmlGpmQueryDeviceSupport", "nvmlGpmSampleAlloc", "nvmlGpmSampleGet",
		"nvmlGpmSampleFree", "nvmlGpmMetricsGet",
	} {
		if err := d.l.check(s); err != nil {
			return false, err
		}
	}
	s, ret := d.d.GpmQueryDeviceSupport()
	if err := call("nvmlGpmQueryDeviceSupport", ret); err != nil {
		return false, err
	}
	return s.IsSupportedDevice != 0, nil
}

func (d *nvmlDevice) GPMSample() (GPMSample, error) {
	if err := d.l.check("nvmlGpmSampleAlloc"); err != nil {
		return nil, err
	}
	s, ret := d.l.lib.GpmSampleAlloc()
	if err := call("nvmlGpmSampleAlloc", ret); err != nil {
		return nil, err
	}
	if err := call("nvmlGpmSampleGet", d.d.GpmSampleGet(s)); err != nil {
		_ = s.Free() // best effort: the GpmSampleGet error is the one to report
		return nil, err
	}
	return &nvmlGPMSample{l: d.l, s: s}, nil
}

func (d *nvmlDevice) RegisterEvents(set EventSet) error {
	es, ok := set.(*nvmlEventSet)
	if !ok {
		return fmt.Errorf("nvmlDeviceRegisterEvents: foreign event set: %w", ErrNotSupported)
	}
	if err := d.l.check("nvmlDeviceRegisterEvents"); err != nil {
		return err
	}
	mask := uint64(nvml.EventTypeXidCriticalError | nvml.EventTypeGpuUnavailableError)
	if d.l.has("nvmlDeviceGetSupportedEventTypes") {
		if sup, ret := d.d.GetSupportedEventTypes(); ret == nvml.SUCCESS {
			mask &= sup
		}
	}
	if mask == 0 {
		return fmt.Errorf("nvmlDeviceRegisterEvents: %w", ErrNotSupported)
	}
	return call("nvmlDeviceRegisterEvents", d.d.RegisterEvents(mask, es.s))
}

type nvmlGPMSample struct {
	l *nvmlLibrary
	s nvml.GpmSample
}

func (s *nvmlGPMSample) Free() error {
	if !s.l.ready.Load() {
		return nil // Shutdown has released it with the library
	}
	return call("nvmlGpmSampleFree", s.s.Free())
}

type nvmlEventSet struct {
	l *nvmlLibrary
	s nvml.EventSet
}

func (e *nvmlEventSet) Wait(timeoutMs uint32) (Event, error) {
	if !e.l.ready.Load() {
		return Event{}, fmt.Errorf("nvmlEventSetWait: %w", ErrUninitialized)
	}
	data, ret := e.s.Wait(timeoutMs)
	if err := call("nvmlEventSetWait", ret); err != nil {
		return Event{}, err
	}
	ev := Event{Kind: EventOther}
	switch {
	case data.EventType&nvml.EventTypeXidCriticalError != 0:
		ev.Kind, ev.XID = EventXID, data.EventData
	case data.EventType&nvml.EventTypeGpuUnavailableError != 0:
		ev.Kind = EventGPUUnavailable
	}
	if data.Device != nil {
		if u, ret := data.Device.GetUUID(); ret == nvml.SUCCESS {
			ev.UUID = u
		}
	}
	return ev, nil
}

func (e *nvmlEventSet) Free() error {
	if !e.l.ready.Load() {
		return nil
	}
	return call("nvmlEventSetFree", e.s.Free())
}

// NewSimulated returns a Library for `export gpu --simulate`: go-nvml's own mock DGX H100
// server (8 × H100 80GB HBM3) with its functions set to values that follow load(), a busy
// fraction in 0..1. Like a vLLM host, about 90% of VRAM is allocated at all times;
// utilisation, bandwidth, power, temperature, clocks, PCIe and GPM activity move with load,
// SM activity overtaking DRAM bandwidth only near full load.
func NewSimulated(load func() float64) Library {
	return newSimulated(func(int) SimulatedWork { return SimulatedWork{Busy: load()} }, loadGPM, time.Now)
}

// NewSimulatedWork returns go-nvml's mock DGX H100 server whose GPU i does work(i): --demo
// passes the simulated inference servers' engine time, split between bandwidth-bound
// decode and compute-bound prefill, and the GPUs report what a Hopper GPU's GPM counters
// show for that mix (workGPM).
func NewSimulatedWork(work func(gpu int) SimulatedWork) Library {
	return newSimulated(work, workGPM, time.Now)
}

// NewSimulatedWorkAt is NewSimulatedWork on the clock now: the demo's backfill steps it
// through simulated time, so the energy counter integrates the power over that time and
// the busy share wobbles as it would have live.
func NewSimulatedWorkAt(work func(gpu int) SimulatedWork, now func() time.Time) Library {
	return newSimulated(work, workGPM, now)
}

// loadGPM is NewSimulated's GPM activity for a busy fraction alone: decode-heavy batches
// (moderate load) leave SMs waiting on memory; only near saturation do large prefills make
// the GPU compute-bound. So SM activity trails DRAM bandwidth at moderate load and
// overtakes it at full load, and tokenpath:gpu_state moves through memory_bound, balanced
// and compute_bound as the load cycles.
func loadGPM(w SimulatedWork) gpmActivity {
	b := w.Busy
	return gpmActivity{
		graphics: 100 * b, sm: 50*b + 40*math.Pow(b, 4), occupancy: 42 * b, tensor: 35 * b,
		dram: 80 * b, // decode is bandwidth-bound; ~80% is the practical ceiling
	}
}

// workGPM is a Hopper GPU's GPM activity for a mix of kernels: decode (reading every weight
// and the KV cache once per step for a few tokens) keeps DRAM near its practical ceiling
// with SMs mostly stalled on memory and tensor cores nearly idle; prefill (thousands of
// tokens per weight read) keeps SMs and tensor cores busy and DRAM well below its peak.
func workGPM(w SimulatedWork) gpmActivity {
	b, c := w.Busy, min(max(w.Compute, 0), 1)
	return gpmActivity{
		graphics:  100 * b,
		sm:        100 * b * (0.30 + 0.65*c),
		occupancy: 100 * b * (0.25 + 0.40*c),
		tensor:    100 * b * (0.08 + 0.80*c),
		dram:      100 * b * (0.85 - 0.60*c),
	}
}

// gpmActivity are the GPM metrics a simulated GPU reports, in percent.
type gpmActivity struct{ graphics, sm, occupancy, tensor, dram float64 }

func newSimulated(work func(gpu int) SimulatedWork, gpm func(SimulatedWork) gpmActivity, clock func() time.Time) Library {
	srv := dgxh100.New()
	start := clock()
	// The demo's inference servers run inside tokenpath, so tokenpath's own process is the
	// one on every simulated GPU: gpu/procmap then maps each demo server to all eight GPUs,
	// which is what drives them (the load is the servers' together).
	pid := uint32(os.Getpid()) //nolint:gosec // PIDs are positive and fit in 32 bits
	for i, dev := range srv.Devices {
		d := dev.(*server.Device)
		s := &simGPU{
			index: i, pid: pid, bus: simPCIBuses[i%len(simPCIBuses)], work: work, clock: clock, start: start, last: start,
			total: d.MemoryInfo.Total,
		}
		// Stable identities, so dashboards survive a restart of the demo.
		d.UUID = fmt.Sprintf("GPU-5e1a7ed0-0000-4000-8000-%012d", i)
		d.PciBusID = fmt.Sprintf("00000000:%02X:00.0", s.bus)
		s.wire(d)
	}
	srv.SystemGetProcessNameFunc = func(_ int) (string, nvml.Return) {
		return "tokenpath", nvml.SUCCESS
	}
	srv.GpmSampleAllocFunc = func() (nvml.GpmSample, nvml.Return) {
		s := &simSample{}
		s.FreeFunc = func() nvml.Return { return nvml.SUCCESS }
		return s, nvml.SUCCESS
	}
	srv.GpmMetricsGetFunc = func(mg *nvml.GpmMetricsGetType) nvml.Return {
		s, ok := mg.Sample2.(*simSample)
		if !ok {
			return nvml.ERROR_INVALID_ARGUMENT
		}
		a := gpm(s.work)
		for i := range mg.NumMetrics {
			m := &mg.Metrics[i]
			m.NvmlReturn = uint32(nvml.SUCCESS)
			switch nvml.GpmMetricId(m.MetricId) {
			case nvml.GPM_METRIC_GRAPHICS_UTIL:
				m.Value = a.graphics
			case nvml.GPM_METRIC_SM_UTIL:
				m.Value = a.sm
			case nvml.GPM_METRIC_SM_OCCUPANCY:
				m.Value = a.occupancy
			case nvml.GPM_METRIC_ANY_TENSOR_UTIL:
				m.Value = a.tensor
			case nvml.GPM_METRIC_DRAM_BW_UTIL:
				m.Value = a.dram
			default:
				m.NvmlReturn = uint32(nvml.ERROR_NOT_SUPPORTED)
			}
		}
		return nvml.SUCCESS
	}
	srv.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
		set := &mock.EventSet{}
		set.WaitFunc = func(ms uint32) (nvml.EventData, nvml.Return) {
			time.Sleep(time.Duration(ms) * time.Millisecond) // a healthy GPU: no XIDs
			return nvml.EventData{}, nvml.ERROR_TIMEOUT
		}
		set.FreeFunc = func() nvml.Return { return nvml.SUCCESS }
		return set, nvml.SUCCESS
	}
	return newAdapter(nil, srv)
}

// PCI buses of the eight GPUs of a DGX H100.
var simPCIBuses = []uint32{0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB}

type simSample struct {
	mock.GpmSample
	work SimulatedWork // what the GPU was doing when sampled, its busy share wobbled
}

type simGPU struct {
	index int
	pid   uint32
	bus   uint32
	work  func(gpu int) SimulatedWork
	clock func() time.Time
	start time.Time
	total uint64

	mu       sync.Mutex
	last     time.Time
	energyMJ float64
}

// now is what this GPU is doing: its work, the busy share with a slow per-GPU wobble so
// the eight GPUs do not draw one identical line.
func (s *simGPU) now() SimulatedWork {
	w := s.work(s.index)
	t := s.clock().Sub(s.start).Seconds()
	w.Busy = min(max(w.Busy*(0.92+0.08*math.Sin(t/7+float64(s.index))), 0), 1)
	return w
}

func (s *simGPU) busy() float64 { return s.now().Busy }

func (s *simGPU) powerMW() float64 { return 72000 + 610000*s.busy() }

func (s *simGPU) wire(d *server.Device) {
	const gib = 1 << 30
	reserved := uint64(gib / 2)
	used := uint64(float64(s.total) * 0.9) // vLLM's gpu_memory_utilization=0.9, reserved up front
	d.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
		p := nvml.PciInfo{PciDeviceId: d.Config.PciDeviceId, Bus: s.bus}
		for i := 0; i < len(d.PciBusID) && i < len(p.BusId)-1; i++ {
			if c := d.PciBusID[i]; c <= math.MaxInt8 { // ASCII, as C's char holds it
				p.BusId[i] = int8(c)
			}
		}
		return p, nvml.SUCCESS
	}
	d.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
		return nvml.Memory_v2{
			Total: s.total, Reserved: reserved,
			Used: used, Free: s.total - used - reserved,
		}, nvml.SUCCESS
	}
	d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
		b := s.busy()
		return nvml.Utilization{Gpu: uint32(math.Round(100 * b)), Memory: uint32(math.Round(68 * b))}, nvml.SUCCESS
	}
	d.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) {
		return uint32(math.Round(31 + 44*s.busy())), nvml.SUCCESS
	}
	d.GetPowerUsageFunc = func() (uint32, nvml.Return) { return uint32(s.powerMW()), nvml.SUCCESS }
	d.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 700000, nvml.SUCCESS }
	d.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) {
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.clock()
		s.energyMJ += s.powerMW() * now.Sub(s.last).Seconds() // mW × s = mJ
		s.last = now
		return uint64(s.energyMJ), nvml.SUCCESS
	}
	d.GetClockInfoFunc = func(c nvml.ClockType) (uint32, nvml.Return) {
		if c == nvml.CLOCK_MEM {
			return 2619, nvml.SUCCESS
		}
		if s.busy() < 0.02 {
			return 345, nvml.SUCCESS // idle clocks
		}
		return 1980, nvml.SUCCESS
	}
	d.GetPcieThroughputFunc = func(c nvml.PcieUtilCounter) (uint32, nvml.Return) {
		b := s.busy()
		if c == nvml.PCIE_UTIL_TX_BYTES {
			return uint32(2048 + 180000*b), nvml.SUCCESS
		}
		return uint32(4096 + 350000*b), nvml.SUCCESS
	}
	d.GetCurrentClocksEventReasonsFunc = func() (uint64, nvml.Return) {
		switch b := s.busy(); {
		case b < 0.02:
			return nvml.ClocksEventReasonGpuIdle, nvml.SUCCESS
		case b > 0.97:
			return nvml.ClocksEventReasonSwPowerCap, nvml.SUCCESS
		}
		return 0, nvml.SUCCESS
	}
	d.GetTotalEccErrorsFunc = func(nvml.MemoryErrorType, nvml.EccCounterType) (uint64, nvml.Return) {
		return 0, nvml.SUCCESS
	}
	d.GetRemappedRowsFunc = func() (int, int, bool, bool, nvml.Return) { return 0, 0, false, false, nvml.SUCCESS }
	d.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: s.pid, UsedGpuMemory: used}}, nvml.SUCCESS
	}
	d.GetGraphicsRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return nil, nvml.SUCCESS // a headless server: no graphics contexts
	}
	d.GpmQueryDeviceSupportFunc = func() (nvml.GpmSupport, nvml.Return) {
		return nvml.GpmSupport{Version: 1, IsSupportedDevice: 1}, nvml.SUCCESS
	}
	d.GpmSampleGetFunc = func(smp nvml.GpmSample) nvml.Return {
		ss, ok := smp.(*simSample)
		if !ok {
			return nvml.ERROR_INVALID_ARGUMENT
		}
		ss.work = s.now()
		return nvml.SUCCESS
	}
	d.GetSupportedEventTypesFunc = func() (uint64, nvml.Return) {
		return nvml.EventTypeXidCriticalError | nvml.EventTypeGpuUnavailableError, nvml.SUCCESS
	}
	d.RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.SUCCESS }
}
