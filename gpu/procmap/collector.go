// Package procmap finds which GPUs serve each inference server that tokenpath scrapes on its
// own machine: the process listening on the target's port (/proc/net/tcp{,6} → socket inode →
// /proc/*/fd), that process's descendants (/proc/*/stat ppid: vLLM's engine core,
// tensor-parallel workers) and the GPUs whose NVML process lists hold any of them.
//
// It is a prometheus.Collector in node_exporter's shape on tokenpath's own registry:
//
//	tokenpath_inference_target_gpu{target_job, target_instance, gpu, uuid} 1
//	tokenpath_inference_target_gpu_mapping{target_job, target_instance, state} 1
//
// (target_* because the self-scrape sets job and instance). See README.md.
package procmap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ritwikareddykancharla/token-path-observability/gpu"
	"github.com/ritwikareddykancharla/token-path-observability/internal/boundedcall"
)

// The mapping states, one per target.
const (
	// StateMapped: the listener was found and at least one GPU holds a process of its tree.
	StateMapped = "mapped"
	// StateNoGPUProcess: the listener was found and NVML answered, but no GPU holds a
	// process of its tree (a CPU server, or one still loading its model).
	StateNoGPUProcess = "no_gpu_process"
	// StateUnknown: the target is on this machine but its listener cannot be seen (another
	// network or PID namespace, a container, no permission to read its descriptors),
	// tokenpath runs in its own PID namespace, or NVML cannot list GPU processes.
	StateUnknown = "unknown"
	// StateRemote: the target's address is not this machine's.
	StateRemote = "remote"
)

// Target is one inference scrape target.
type Target struct {
	Job, Instance string
	// Address is host:port the scrape connects to.
	Address string
}

// ProcessLister lists each GPU's processes; *gpu.Collector is one.
type ProcessLister interface {
	RunningProcesses() ([]gpu.DeviceProcesses, error)
}

// Options configure New. Zero durations get defaults.
type Options struct {
	// Targets returns the inference targets now configured. Required.
	Targets func() []Target
	// GPUs lists the GPUs' processes. Required.
	GPUs ProcessLister
	// Logger receives state changes; nil discards them.
	Logger *slog.Logger
	// RefreshInterval is the shortest time between two walks of /proc: scrapes in between
	// get the last result. Default 15s.
	RefreshInterval time.Duration
	// Timeout bounds one refresh (the /proc walk, name resolution and the NVML calls): a
	// scrape waits for it at most this long from its start. Default 3s.
	Timeout time.Duration
}

// Collector maps inference targets to GPUs.
type Collector struct {
	targets func() []Target
	gpus    ProcessLister
	logger  *slog.Logger
	every   time.Duration
	timeout time.Duration

	// Seams for tests; the defaults read this machine.
	procRoot         string
	hostPIDNamespace func() (bool, error)
	interfaceAddrs   func() ([]net.Addr, error)

	targetGPU, mapping *prometheus.Desc

	flights boundedcall.Group[[]prometheus.Metric]

	mu       sync.Mutex
	cached   []prometheus.Metric
	cachedAt time.Time
	// stalled is set while refreshes time out, so that is logged once.
	stalled bool
	// states is each target's last state and reason, to log changes once.
	states map[string]string
}

const (
	helpTargetGPU = "1 for each GPU whose NVML process list holds the inference target's server: the process listening on its port or one of its descendants."
	helpMapping   = "1 for how the inference target's GPUs were found: state mapped, no_gpu_process, unknown (not visible from here) or remote."
)

// New builds a Collector; register it on the registry the self-scrape reads.
func New(o Options) (*Collector, error) {
	if o.Targets == nil || o.GPUs == nil {
		return nil, errors.New("procmap: Options.Targets and Options.GPUs are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = 15 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	return &Collector{
		targets: o.Targets, gpus: o.GPUs, logger: o.Logger.With("component", "procmap"),
		every: o.RefreshInterval, timeout: o.Timeout,
		procRoot: "/proc", hostPIDNamespace: inHostPIDNamespace, interfaceAddrs: net.InterfaceAddrs,
		targetGPU: prometheus.NewDesc("tokenpath_inference_target_gpu", helpTargetGPU,
			[]string{"target_job", "target_instance", "gpu", "uuid"}, nil),
		mapping: prometheus.NewDesc("tokenpath_inference_target_gpu_mapping", helpMapping,
			[]string{"target_job", "target_instance", "state"}, nil),
		states: map[string]string{},
	}, nil
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.targetGPU
	ch <- c.mapping
}

// Collect implements prometheus.Collector. A result younger than RefreshInterval is served
// again. Otherwise one refresh runs in its own goroutine, shared by concurrent scrapes, and
// Collect waits for it at most Timeout from its start (as gpu/bounded.go does for NVML): a
// walk or an NVML call that hangs leaves the scrape without these series, logged once,
// instead of stalling it.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.cached != nil && time.Since(c.cachedAt) < c.every {
		ms := c.cached
		c.mu.Unlock()
		for _, m := range ms {
			ch <- m
		}
		return
	}
	c.mu.Unlock()

	metrics, ok := c.flights.Do(c.timeout, c.refresh)
	if !ok {
		c.mu.Lock()
		if !c.stalled {
			c.logger.Warn("mapping inference targets to GPUs did not finish in time; their mapping series are left out until it does", "timeout", c.timeout)
		}
		c.stalled = true
		c.mu.Unlock()
		return
	}
	for _, m := range metrics {
		ch <- m
	}
}

// refresh walks /proc and asks NVML once, and caches the result.
func (c *Collector) refresh() []prometheus.Metric {
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	ms := c.collect(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cached, c.cachedAt = ms, started
	if c.stalled {
		c.logger.Info("mapping inference targets to GPUs answers again")
	}
	c.stalled = false
	return ms
}

// result is one target's mapping.
type result struct {
	Target
	state, reason string
	gpus          []gpu.DeviceProcesses
}

func (c *Collector) collect(ctx context.Context) []prometheus.Metric {
	results := c.mapTargets(ctx, c.targets())
	out := make([]prometheus.Metric, 0, 2*len(results))
	for _, r := range results {
		out = append(out, prometheus.MustNewConstMetric(c.mapping, prometheus.GaugeValue, 1, r.Job, r.Instance, r.state))
		for _, g := range r.gpus {
			out = append(out, prometheus.MustNewConstMetric(c.targetGPU, prometheus.GaugeValue, 1,
				r.Job, r.Instance, strconv.Itoa(g.Index), g.UUID))
		}
	}
	c.logChanges(results)
	return out
}

// mapTargets classifies every target; the /proc walk and the NVML calls happen once for all.
func (c *Collector) mapTargets(ctx context.Context, targets []Target) []result {
	var results []result
	seen := map[[2]string]bool{}
	local := map[int]uint16{} // index in results → port
	for _, t := range targets {
		key := [2]string{t.Job, t.Instance}
		if seen[key] {
			continue // the same series twice would fail the scrape
		}
		seen[key] = true
		r := result{Target: t}
		host, portText, err := net.SplitHostPort(t.Address)
		var port uint64
		if err == nil {
			port, err = strconv.ParseUint(portText, 10, 16)
		}
		if err != nil {
			r.state, r.reason = StateUnknown, fmt.Sprintf("address %q has no port: %v", t.Address, err)
			results = append(results, r)
			continue
		}
		isHere, err := isLocal(ctx, host, c.interfaceAddrs)
		switch {
		case err != nil:
			r.state, r.reason = StateUnknown, err.Error()
		case !isHere:
			r.state, r.reason = StateRemote, "the address is not this machine's"
		default:
			local[len(results)] = uint16(port)
		}
		results = append(results, r)
	}
	if len(local) == 0 {
		return results
	}
	unknown := func(reason string) []result {
		for i := range local {
			results[i].state, results[i].reason = StateUnknown, reason
		}
		return results
	}
	// NVML reports host PIDs; /proc shows the PIDs of tokenpath's own namespace.
	if host, err := c.hostPIDNamespace(); err != nil || !host {
		return unknown("tokenpath runs in its own PID namespace, where PIDs differ from the host PIDs NVML reports; run it in the host's (docker --pid=host, Kubernetes hostPID: true)")
	}
	gpus, err := c.gpus.RunningProcesses()
	if err != nil {
		return unknown("NVML cannot list the GPUs' processes: " + err.Error())
	}
	ports := map[uint16]bool{}
	for _, p := range local {
		ports[p] = true
	}
	snap, err := readProc(c.procRoot, ports)
	if err != nil {
		return unknown(err.Error())
	}
	for i, port := range local {
		r := &results[i]
		pids := snap.listeners[port]
		if len(pids) == 0 {
			r.state = StateUnknown
			r.reason = fmt.Sprintf("no process visible from here listens on port %d (another network namespace such as a container's, or %d processes' descriptors not readable)", port, snap.fdDenied)
			continue
		}
		if snap.allProxies(pids) {
			r.state = StateUnknown
			r.reason = fmt.Sprintf("port %d is published by docker-proxy: the server runs in a container's network namespace", port)
			continue
		}
		tree := snap.tree(pids)
		for _, g := range gpus {
			if slices.ContainsFunc(g.PIDs, func(p uint32) bool { return tree[int(p)] }) {
				r.gpus = append(r.gpus, gpu.DeviceProcesses{Index: g.Index, UUID: g.UUID})
			}
		}
		r.state, r.reason = StateNoGPUProcess, fmt.Sprintf("no GPU lists any of the %d processes of the server listening on port %d", len(tree), port)
		if len(r.gpus) > 0 {
			r.state, r.reason = StateMapped, fmt.Sprintf("%d GPUs hold processes of the server listening on port %d", len(r.gpus), port)
		}
	}
	return results
}

// logChanges logs each target's state when it changes.
func (c *Collector) logChanges(results []result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.states
	c.states = make(map[string]string, len(results)) // targets gone are forgotten
	for _, r := range results {
		key := r.Job + "\xff" + r.Instance
		gpus := make([]string, 0, len(r.gpus))
		for _, g := range r.gpus {
			gpus = append(gpus, strconv.Itoa(g.Index))
		}
		now := r.state + "\xff" + fmt.Sprint(gpus)
		c.states[key] = now
		if prev[key] == now {
			continue
		}
		c.logger.Info("inference target GPU mapping", "job", r.Job, "instance", r.Instance,
			"state", r.state, "gpus", gpus, "why", r.reason)
	}
}
