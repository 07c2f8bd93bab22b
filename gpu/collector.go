package gpu

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ritwikareddykancharla/token-path-observability/internal/boundedcall"
)

// CollectorOptions configures NewCollector. Zero fields get defaults.
type CollectorOptions struct {
	// Library is how NVML is reached: NewNVML for a real driver, NewSimulated for --demo.
	// Required.
	Library Library
	// Logger receives the collector's logs; nil discards them.
	Logger *slog.Logger
	// DCGMNames adds dcgm-exporter's series (DCGM_FI_*, with its labels) next to the native
	// ones, so NVIDIA's Grafana dashboard works. tokenpath turns it on by default (see
	// DefaultCollectorOptions); the zero value leaves it off.
	DCGMNames bool
	// Hostname is the DCGM family's Hostname label; empty means os.Hostname().
	Hostname string
	// RetryInterval is how often Run retries NVML Init while it fails, and re-initialises
	// NVML after a GPU was lost. Default 30s.
	RetryInterval time.Duration
	// EventWait is how long one NVML event-set wait blocks; it bounds how quickly Run notices
	// cancellation. Default 500ms.
	EventWait time.Duration
	// CollectTimeout bounds one collection, NVML calls included: a driver that does not answer
	// in time makes the scrape report tokenpath_gpu_up 0 instead of stalling it. Default 3s.
	CollectTimeout time.Duration
	// Now is the collector's clock (GPM windows, Xid times); nil means time.Now. The demo's
	// backfill gathers a simulated GPU on a simulated clock.
	Now func() time.Time
}

// DefaultCollectorOptions returns tokenpath's defaults: DCGM names on.
func DefaultCollectorOptions() CollectorOptions {
	return CollectorOptions{
		DCGMNames: true, RetryInterval: 30 * time.Second, EventWait: 500 * time.Millisecond,
		CollectTimeout: defaultCollectTimeout,
	}
}

// Collector is a prometheus.Collector for every GPU NVML sees. A failing NVML call drops the
// series it would have produced and nothing else; with no usable NVML it reports only
// tokenpath_gpu_up 0.
type Collector struct {
	lib       Library
	logger    *slog.Logger
	dcgm      bool
	hostname  string
	retry     time.Duration
	eventWait time.Duration
	timeout   time.Duration
	now       func() time.Time

	n nativeDescs
	d dcgmDescs

	available atomic.Bool
	// reinit asks Run to re-initialise NVML (a GPU was lost, or NVML stopped answering).
	reinit atomic.Bool
	// lostStreak counts re-inits in a row that did not bring every GPU back; it backs the
	// re-inits off, because each one also re-primes GPM on the healthy GPUs.
	lostStreak atomic.Int32

	// flights holds the gather now talking to NVML (see bounded.go).
	flights boundedcall.Group[[]prometheus.Metric]
	// stalled is set while NVML fails to answer a collection in time or to list the GPUs,
	// so the failure and the recovery are each logged once.
	stalled atomic.Bool

	// mu serialises collections with Init/Shutdown and guards the fields below.
	mu            sync.Mutex
	driverVersion string
	devices       map[int]*deviceState // by NVML index

	xidMu   sync.Mutex
	xids    map[string]map[uint64]*xidRecord // UUID → Xid code → record
	xidLast map[string]uint64                // UUID → last Xid code
}

type xidRecord struct {
	count uint64
	last  time.Time
}

// deviceState is what the collector remembers about one GPU between scrapes.
type deviceState struct {
	id Identity
	// gpm is nil until support was checked; then true or false.
	gpm     *bool
	prevGPM GPMSample
	prevAt  time.Time  // when prevGPM was taken
	lastGPM *GPMValues // the last window's values, repeated for scrapes that come too soon
	// lost is set while the GPU does not answer, so the loss is logged once.
	lost bool
	// idKnown is set once id was read in the current NVML session: UUID, name, PCI bus and
	// minor number do not change while NVML stays initialised, so they are read once.
	idKnown bool
}

// setLost records whether the GPU answers and logs the changes.
func (c *Collector) setLost(index int, st *deviceState, lost bool, err error) {
	if lost {
		c.reinit.Store(true)
		if !st.lost {
			c.logger.Warn("GPU lost; reporting tokenpath_gpu_device_up 0", "gpu", index, "uuid", st.id.UUID, "err", err)
		}
	} else if st.lost {
		c.logger.Info("GPU answers again", "gpu", index, "uuid", st.id.UUID)
	}
	st.lost = lost
}

// NewCollector builds a collector and tries NVML Init once. It does not fail when NVML is
// missing (Available is then false and Run keeps retrying); it fails only on a programming
// error such as a nil Library.
func NewCollector(o CollectorOptions) (*Collector, error) {
	if o.Library == nil {
		return nil, errors.New("gpu: CollectorOptions.Library is nil")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 30 * time.Second
	}
	if o.EventWait <= 0 {
		o.EventWait = 500 * time.Millisecond
	}
	if o.CollectTimeout <= 0 {
		o.CollectTimeout = defaultCollectTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Collector{
		lib:       o.Library,
		logger:    o.Logger.With("component", "gpu"),
		dcgm:      o.DCGMNames,
		hostname:  o.Hostname,
		retry:     o.RetryInterval,
		eventWait: o.EventWait,
		timeout:   o.CollectTimeout,
		now:       o.Now,
		n:         newNativeDescs(),
		d:         newDCGMDescs(),
		devices:   map[int]*deviceState{},
		xids:      map[string]map[uint64]*xidRecord{},
		xidLast:   map[string]uint64{},
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.initLocked(); err != nil {
		// Logged once here; Run's retries log at debug level only.
		c.logger.Warn("NVML unavailable; GPU metrics are off (tokenpath_gpu_up 0)", "err", err)
	}
	return c, nil
}

// Available reports whether NVML is initialised, i.e. whether GPU metrics are on.
func (c *Collector) Available() bool { return c.available.Load() }

// initLocked initialises NVML and reads the driver version. c.mu must be held.
func (c *Collector) initLocked() error {
	if err := c.lib.Init(); err != nil {
		c.available.Store(false)
		return err
	}
	c.driverVersion, _ = c.lib.DriverVersion()
	c.available.Store(true)
	return nil
}

// shutdownLocked frees GPM samples and shuts NVML down. c.mu must be held.
func (c *Collector) shutdownLocked() {
	// Identities survive a restart, so a GPU that stays lost keeps its labels; GPM state does
	// not, because samples and support answers belong to the old NVML session.
	for _, st := range c.devices {
		if st.prevGPM != nil {
			_ = st.prevGPM.Free()
		}
		st.prevGPM, st.gpm, st.lastGPM = nil, nil, nil
		st.idKnown = false
	}
	if c.available.Swap(false) {
		if err := c.lib.Shutdown(); err != nil {
			c.logger.Debug("NVML shutdown failed", "err", err)
		}
	}
}

// Run does the background work until ctx is done: it retries Init while NVML is
// unavailable, re-initialises NVML after a GPU is lost, and reads XID events from an NVML
// event set. It calls Shutdown before returning and returns nil on cancellation.
func (c *Collector) Run(ctx context.Context) error {
	defer func() {
		c.mu.Lock()
		c.shutdownLocked()
		c.mu.Unlock()
	}()
	for ctx.Err() == nil {
		if !c.available.Load() || c.reinit.Load() {
			c.restart()
		}
		if c.available.Load() && !c.reinit.Load() {
			c.watchEvents(ctx)
			if c.reinit.Load() {
				// Give a lost GPU time before re-initialising: RetryInterval, doubling while
				// re-inits do not help, up to 32 times RetryInterval.
				sleep(ctx, c.retry<<min(c.lostStreak.Add(1)-1, 5))
			}
			continue
		}
		sleep(ctx, c.retry)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// restart (re-)initialises NVML.
func (c *Collector) restart() {
	c.mu.Lock()
	defer c.mu.Unlock()
	wasUp := c.available.Load()
	c.shutdownLocked()
	c.reinit.Store(false)
	if err := c.initLocked(); err != nil {
		c.logger.Debug("NVML init failed; will retry", "err", err, "retry", c.retry)
		return
	}
	if wasUp {
		// Debug, not info: with a GPU that stays lost this repeats every RetryInterval.
		c.logger.Debug("NVML re-initialised")
	} else {
		c.logger.Info("NVML initialised; GPU metrics are on", "driver_version", c.driverVersion)
	}
}

// watchEvents reads XID and GPU-lost events until ctx is done or a re-init is requested.
func (c *Collector) watchEvents(ctx context.Context) {
	set, err := c.newEventSet()
	if err != nil {
		c.logger.DebugContext(ctx, "NVML events unavailable; no XID metrics", "err", err)
		for ctx.Err() == nil && !c.reinit.Load() {
			sleep(ctx, c.eventWait)
		}
		return
	}
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if err := set.Free(); err != nil {
			c.logger.DebugContext(ctx, "freeing the NVML event set failed", "err", err)
		}
	}()
	ms := c.eventWait.Milliseconds()
	if ms <= 0 || ms > math.MaxUint32 {
		ms = 500
	}
	for ctx.Err() == nil && !c.reinit.Load() {
		ev, err := set.Wait(uint32(ms))
		switch {
		case err == nil:
			c.recordEvent(ev)
		case errors.Is(err, ErrTimeout):
		case errors.Is(err, ErrGPULost):
			c.logger.WarnContext(ctx, "a GPU is lost", "err", err)
			c.reinit.Store(true)
		default:
			c.logger.DebugContext(ctx, "NVML event wait failed", "err", err)
			sleep(ctx, c.eventWait)
		}
	}
}

func (c *Collector) newEventSet() (EventSet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	set, err := c.lib.NewEventSet()
	if err != nil {
		return nil, err
	}
	n, err := c.lib.DeviceCount()
	if err != nil {
		_ = set.Free()
		return nil, err
	}
	for i := range n {
		dev, err := c.lib.Device(i)
		if err != nil {
			continue
		}
		if err := dev.RegisterEvents(set); err != nil {
			c.logger.Debug("registering GPU events failed", "gpu", i, "err", err)
		}
	}
	return set, nil
}

func (c *Collector) recordEvent(ev Event) {
	switch ev.Kind {
	case EventXID:
		c.logger.Warn("GPU Xid error", "uuid", ev.UUID, "xid", ev.XID)
		c.xidMu.Lock()
		defer c.xidMu.Unlock()
		m := c.xids[ev.UUID]
		if m == nil {
			m = map[uint64]*xidRecord{}
			c.xids[ev.UUID] = m
		}
		r := m[ev.XID]
		if r == nil {
			r = &xidRecord{}
			m[ev.XID] = r
		}
		r.count++
		r.last = c.now()
		c.xidLast[ev.UUID] = ev.XID
		if ev.XID == 79 { // fallen off the bus
			c.reinit.Store(true)
		}
	case EventGPUUnavailable:
		c.logger.Warn("GPU unavailable", "uuid", ev.UUID)
		c.reinit.Store(true)
	case EventOther:
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.n.all() {
		ch <- d
	}
	if c.dcgm {
		for _, d := range c.d.all() {
			ch <- d
		}
	}
}

// gather reads every GPU, in parallel because nvmlDeviceGetPcieThroughput blocks ~20 ms per
// call. Collect runs it under CollectTimeout (bounded.go).
func (c *Collector) gather() []prometheus.Metric {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.available.Load() {
		return []prometheus.Metric{prometheus.MustNewConstMetric(c.n.up, prometheus.GaugeValue, 0)}
	}
	n, err := c.lib.DeviceCount()
	if err != nil {
		c.setStalled(true, "NVML cannot list the GPUs; reporting tokenpath_gpu_up 0 until it answers again", err)
		c.reinit.Store(true)
		return []prometheus.Metric{prometheus.MustNewConstMetric(c.n.up, prometheus.GaugeValue, 0)}
	}
	c.setStalled(false, "", nil)
	outs := make([][]prometheus.Metric, n)
	var wg sync.WaitGroup
	for i := range n {
		st := c.devices[i]
		if st == nil {
			st = &deviceState{}
			c.devices[i] = st
		}
		wg.Go(func() { outs[i] = c.collectDevice(i, st) })
	}
	wg.Wait()
	if !c.reinit.Load() {
		c.lostStreak.Store(0) // every GPU answered
	}
	ms := []prometheus.Metric{prometheus.MustNewConstMetric(c.n.up, prometheus.GaugeValue, 1)}
	for _, out := range outs {
		ms = append(ms, out...)
	}
	return ms
}

// deviceCollection gathers one GPU's metrics. It is used by one goroutine.
type deviceCollection struct {
	c         *Collector
	st        *deviceState
	nat, dcgm []string
	out       []prometheus.Metric
	lost      bool
}

func (dc *deviceCollection) native(d *prometheus.Desc, t prometheus.ValueType, v float64, extra ...string) {
	dc.out = append(dc.out, prometheus.MustNewConstMetric(d, t, v, append(append([]string{}, dc.nat...), extra...)...))
}

func (dc *deviceCollection) dcgmMetric(d *prometheus.Desc, t prometheus.ValueType, v float64) {
	if dc.c.dcgm {
		dc.out = append(dc.out, prometheus.MustNewConstMetric(d, t, v, dc.dcgm...))
	}
}

// ok reports whether a call succeeded; a lost GPU ends the device's collection, other
// failures only drop the series that needed the call.
func (dc *deviceCollection) ok(what string, err error) bool {
	if err == nil {
		return true
	}
	if errors.Is(err, ErrGPULost) {
		dc.lost = true
		return false
	}
	if !errors.Is(err, ErrNotSupported) && !errors.Is(err, ErrFunctionNotFound) {
		dc.c.logger.Debug("reading a GPU metric failed", "gpu", dc.nat[0], "metric", what, "err", err)
	}
	return false
}

func (c *Collector) collectDevice(index int, st *deviceState) []prometheus.Metric {
	idx := strconv.Itoa(index)
	dev, err := c.lib.Device(index)
	if err == nil && !st.idKnown {
		var id Identity
		if id, err = dev.Identity(); err == nil {
			if st.id.UUID != "" && st.id.UUID != id.UUID { // another GPU at this index after a re-init
				st.gpm = nil
			}
			st.id, st.idKnown = id, true
		}
	}
	nat := []string{idx, st.id.UUID, st.id.Name, st.id.PCIBusID}
	if err != nil {
		if errors.Is(err, ErrGPULost) {
			c.setLost(index, st, true, err)
		} else {
			c.logger.Debug("GPU not answering", "gpu", index, "uuid", st.id.UUID, "err", err)
		}
		return []prometheus.Metric{prometheus.MustNewConstMetric(c.n.deviceUp, prometheus.GaugeValue, 0, nat...)}
	}
	device := ""
	if st.id.Minor >= 0 {
		device = "nvidia" + strconv.Itoa(st.id.Minor)
	}
	dc := &deviceCollection{
		c: c, st: st, nat: nat,
		dcgm: []string{idx, st.id.UUID, device, st.id.Name, c.hostname, st.id.PCIBusID, c.driverVersion},
	}
	dc.collect(dev)
	c.setLost(index, st, dc.lost, ErrGPULost)
	if dc.lost {
		return []prometheus.Metric{prometheus.MustNewConstMetric(c.n.deviceUp, prometheus.GaugeValue, 0, nat...)}
	}
	return append([]prometheus.Metric{
		prometheus.MustNewConstMetric(c.n.deviceUp, prometheus.GaugeValue, 1, nat...),
		prometheus.MustNewConstMetric(c.n.info, prometheus.GaugeValue, 1, append(nat, c.driverVersion)...),
	}, dc.out...)
}

const mib = 1 << 20

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// collect reads every metric family in turn, stopping at a lost GPU.
func (dc *deviceCollection) collect(dev Device) {
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	steps := []func(){
		func() {
			m, err := dev.Memory()
			if !dc.ok("memory", err) {
				return
			}
			dc.native(dc.c.n.vramUsed, gauge, float64(m.Used))
			dc.native(dc.c.n.vramTotal, gauge, float64(m.Total))
			dc.native(dc.c.n.vramFree, gauge, float64(m.Free))
			dc.dcgmMetric(dc.c.d.fbUsed, gauge, float64(m.Used/mib))
			dc.dcgmMetric(dc.c.d.fbFree, gauge, float64(m.Free/mib))
			if m.HasReserved {
				dc.native(dc.c.n.vramReserved, gauge, float64(m.Reserved))
				dc.dcgmMetric(dc.c.d.fbReserved, gauge, float64(m.Reserved/mib))
			}
		},
		func() {
			u, err := dev.Utilization()
			if !dc.ok("utilization", err) {
				return
			}
			dc.native(dc.c.n.computeUtil, gauge, float64(u.GPU))
			dc.native(dc.c.n.memBWUtil, gauge, float64(u.Memory))
			dc.dcgmMetric(dc.c.d.gpuUtil, gauge, float64(u.GPU))
			dc.dcgmMetric(dc.c.d.memCopyUtil, gauge, float64(u.Memory))
		},
		func() {
			t, err := dev.Temperature()
			if dc.ok("temperature", err) {
				dc.native(dc.c.n.temperature, gauge, float64(t))
				dc.dcgmMetric(dc.c.d.gpuTemp, gauge, float64(t))
			}
		},
		func() {
			p, err := dev.PowerUsage()
			if dc.ok("power", err) {
				dc.native(dc.c.n.powerDraw, gauge, float64(p)/1000)
				dc.dcgmMetric(dc.c.d.power, gauge, float64(p)/1000)
			}
		},
		func() {
			p, err := dev.EnforcedPowerLimit()
			if dc.ok("power limit", err) {
				dc.native(dc.c.n.powerLimit, gauge, float64(p)/1000)
				dc.dcgmMetric(dc.c.d.powerLimit, gauge, float64(p)/1000)
			}
		},
		func() {
			e, err := dev.TotalEnergy()
			if dc.ok("energy", err) {
				dc.native(dc.c.n.energy, counter, float64(e)/1000)
				dc.dcgmMetric(dc.c.d.energy, counter, float64(e))
			}
		},
		func() {
			if v, err := dev.Clock(ClockSM); dc.ok("sm clock", err) {
				dc.native(dc.c.n.smClock, gauge, float64(v)*1e6)
				dc.dcgmMetric(dc.c.d.smClock, gauge, float64(v))
			}
		},
		func() {
			if v, err := dev.Clock(ClockMemory); dc.ok("memory clock", err) {
				dc.native(dc.c.n.memClock, gauge, float64(v)*1e6)
				dc.dcgmMetric(dc.c.d.memClock, gauge, float64(v))
			}
		},
		func() {
			if v, err := dev.PCIeThroughput(PCIeTX); dc.ok("pcie tx", err) {
				dc.native(dc.c.n.pcie, gauge, float64(v)*1024, "tx")
				dc.dcgmMetric(dc.c.d.pcieTX, gauge, float64(v)*1024)
			}
		},
		func() {
			if v, err := dev.PCIeThroughput(PCIeRX); dc.ok("pcie rx", err) {
				dc.native(dc.c.n.pcie, gauge, float64(v)*1024, "rx")
				dc.dcgmMetric(dc.c.d.pcieRX, gauge, float64(v)*1024)
			}
		},
		func() {
			mask, err := dev.ClockEventReasons()
			if !dc.ok("clock event reasons", err) {
				return
			}
			for _, r := range clockReasons {
				dc.native(dc.c.n.throttle, gauge, b2f(mask&r.bit != 0), r.name)
			}
			dc.dcgmMetric(dc.c.d.clockReasons, gauge, float64(mask))
		},
		func() {
			corr, err := dev.ECCErrors(ECCCorrected)
			if !dc.ok("ecc", err) {
				return
			}
			unc, err := dev.ECCErrors(ECCUncorrected)
			if !dc.ok("ecc", err) {
				return
			}
			dc.native(dc.c.n.ecc, counter, float64(corr), "corrected")
			dc.native(dc.c.n.ecc, counter, float64(unc), "uncorrected")
			dc.dcgmMetric(dc.c.d.eccSBE, counter, float64(corr))
			dc.dcgmMetric(dc.c.d.eccDBE, counter, float64(unc))
		},
		func() {
			r, err := dev.RemappedRows()
			if !dc.ok("remapped rows", err) {
				return
			}
			dc.native(dc.c.n.remappedRows, counter, float64(r.Correctable), "correctable")
			dc.native(dc.c.n.remappedRows, counter, float64(r.Uncorrectable), "uncorrectable")
			dc.native(dc.c.n.remapPending, gauge, b2f(r.Pending))
			dc.native(dc.c.n.remapFailed, gauge, b2f(r.Failed))
			dc.dcgmMetric(dc.c.d.remapCorr, counter, float64(r.Correctable))
			dc.dcgmMetric(dc.c.d.remapUnc, counter, float64(r.Uncorrectable))
			dc.dcgmMetric(dc.c.d.remapFailure, gauge, b2f(r.Failed))
		},
		func() { dc.processes(dev) },
		func() { dc.mig(dev) },
		func() { dc.gpmMetrics(dev) },
		dc.xidMetrics,
	}
	for _, step := range steps {
		if dc.lost {
			return
		}
		step()
	}
}

func (dc *deviceCollection) processes(dev Device) {
	ps, err := dev.ComputeProcesses()
	if !dc.ok("processes", err) {
		return
	}
	seen := map[uint32]bool{}
	for _, p := range ps {
		if !p.UsedMemoryKnown || seen[p.PID] {
			continue
		}
		seen[p.PID] = true
		name, err := dc.c.lib.ProcessName(p.PID)
		if err != nil {
			name = "" // e.g. a process in another PID namespace
		}
		dc.native(dc.c.n.processMemory, prometheus.GaugeValue, float64(p.UsedMemory), strconv.FormatUint(uint64(p.PID), 10), name)
	}
}

func (dc *deviceCollection) mig(dev Device) {
	on, err := dev.MIGEnabled()
	if !dc.ok("mig mode", err) {
		return
	}
	dc.native(dc.c.n.migEnabled, prometheus.GaugeValue, b2f(on))
	if !on {
		return
	}
	migs, err := dev.MIGDevices()
	if !dc.ok("mig devices", err) && len(migs) == 0 {
		return
	}
	for _, m := range migs {
		id, err := m.Identity()
		if !dc.ok("mig identity", err) {
			continue
		}
		extra := []string{id.UUID, strconv.Itoa(m.GPUInstanceID), strconv.Itoa(m.ComputeInstanceID)}
		dc.native(dc.c.n.migInfo, prometheus.GaugeValue, 1, extra...)
		if mem, err := m.Memory(); dc.ok("mig memory", err) {
			dc.native(dc.c.n.migVRAMUsed, prometheus.GaugeValue, float64(mem.Used), extra...)
			dc.native(dc.c.n.migVRAMTotal, prometheus.GaugeValue, float64(mem.Total), extra...)
		}
	}
}

// gpmMetrics takes one GPM sample per scrape and reports the window since the previous one,
// so values average over the scrape interval. The first scrape only primes the sample.
func (dc *deviceCollection) gpmMetrics(dev Device) {
	st := dc.st
	if st.gpm == nil {
		sup, err := dev.GPMSupported()
		if dc.lost = errors.Is(err, ErrGPULost); dc.lost {
			return
		}
		sup = sup && err == nil
		st.gpm = &sup
	}
	if !*st.gpm {
		return
	}
	now := dc.c.now()
	if st.prevGPM != nil && now.Sub(st.prevAt) < gpmMinWindow {
		// A second scraper came right after the first: the driver needs samples more than
		// 100 ms apart, so repeat the last window instead of taking a new sample.
		if st.lastGPM != nil {
			dc.emitGPM(*st.lastGPM)
		}
		return
	}
	s, err := dev.GPMSample()
	if !dc.ok("gpm sample", err) {
		return
	}
	prev := st.prevGPM
	st.prevGPM, st.prevAt = s, now
	if prev == nil {
		return
	}
	defer func() { _ = prev.Free() }()
	v, err := dc.c.lib.GPMMetrics(prev, s)
	if !dc.ok("gpm metrics", err) {
		st.lastGPM = nil
		return
	}
	st.lastGPM = &v
	dc.emitGPM(v)
}

// gpmMinWindow is the shortest GPM window: NVML refreshes its counters every 100 ms.
const gpmMinWindow = 200 * time.Millisecond

func (dc *deviceCollection) emitGPM(v GPMValues) {
	emit := func(nd, dd *prometheus.Desc, pct float64) {
		if math.IsNaN(pct) {
			return
		}
		dc.native(nd, prometheus.GaugeValue, pct)
		dc.dcgmMetric(dd, prometheus.GaugeValue, pct/100)
	}
	emit(dc.c.n.gpmGraphics, dc.c.d.grEngine, v.GraphicsActivity)
	emit(dc.c.n.gpmSM, dc.c.d.smActive, v.SMActivity)
	emit(dc.c.n.gpmOccupancy, dc.c.d.smOccupancy, v.SMOccupancy)
	emit(dc.c.n.gpmTensor, dc.c.d.tensor, v.TensorActivity)
	emit(dc.c.n.gpmDRAM, dc.c.d.dram, v.DRAMBandwidth)
}

func (dc *deviceCollection) xidMetrics() {
	uuid := dc.st.id.UUID
	dc.c.xidMu.Lock()
	defer dc.c.xidMu.Unlock()
	for code, r := range dc.c.xids[uuid] {
		x := strconv.FormatUint(code, 10)
		dc.native(dc.c.n.xidErrors, prometheus.CounterValue, float64(r.count), x)
		dc.native(dc.c.n.xidLast, prometheus.GaugeValue, float64(r.last.UnixNano())/1e9, x)
	}
	// dcgm-exporter reports the last Xid code, 0 when there was none.
	dc.dcgmMetric(dc.c.d.xid, prometheus.GaugeValue, float64(dc.c.xidLast[uuid]))
}
