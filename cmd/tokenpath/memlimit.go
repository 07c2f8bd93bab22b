package main

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
)

// memoryLimitFlags set Go's soft memory limit (GOMEMLIMIT) the way
// Prometheus 3 does with --auto-gomemlimit: a ratio of the cgroup's memory
// limit, so the garbage collector works harder before the kernel's OOM killer
// would, instead of letting the heap double under GOGC. tokenpath shares the
// GPU host with inference, where a container or systemd MemoryMax= is the
// usual fence.
type memoryLimitFlags struct {
	auto  bool
	ratio float64
	limit units.Base2Bytes
}

func (m *memoryLimitFlags) register(cmd *kingpin.CmdClause) {
	cmd.Flag("auto-gomemlimit", "Set Go's soft memory limit (GOMEMLIMIT) to --auto-gomemlimit.ratio of the cgroup's memory limit, as Prometheus 3 does (--no-auto-gomemlimit turns it off). A GOMEMLIMIT in the environment wins.").Default("true").BoolVar(&m.auto)
	cmd.Flag("auto-gomemlimit.ratio", "Share of the memory limit (cgroup or --memory.limit) given to Go as its soft limit, in (0, 1].").Default("0.9").Float64Var(&m.ratio)
	cmd.Flag("memory.limit", "Memory this process may use (e.g. 512MiB), for hosts without a cgroup limit; the soft limit is --auto-gomemlimit.ratio of it. Default: the cgroup's.").PlaceHolder("BYTES").BytesVar(&m.limit)
}

// apply sets the soft memory limit and logs where it came from. It returns
// the limit set, 0 when none was.
func (m *memoryLimitFlags) apply(logger *slog.Logger, cgroupRoot string) (int64, error) {
	if m.ratio <= 0 || m.ratio > 1 {
		return 0, fmt.Errorf("--auto-gomemlimit.ratio=%v: must be in (0, 1]", m.ratio)
	}
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		logger.Info("GOMEMLIMIT set in the environment; leaving it", "component", "memlimit", "GOMEMLIMIT", v)
		return 0, nil
	}
	total, source := int64(m.limit), "--memory.limit"
	if total == 0 {
		if !m.auto {
			return 0, nil
		}
		limit, err := cgroupMemoryLimit(cgroupRoot)
		if err != nil {
			logger.Warn("Reading the cgroup memory limit; GOMEMLIMIT not set", "component", "memlimit", "err", err)
			return 0, nil
		}
		if limit == 0 {
			return 0, nil
		}
		total, source = limit, "cgroup"
	}
	soft := int64(float64(total) * m.ratio)
	debug.SetMemoryLimit(soft)
	logger.Info("Set GOMEMLIMIT", "component", "memlimit", "source", source, "limit_bytes", total, "gomemlimit_bytes", soft)
	return soft, nil
}

// cgroupMemoryLimit returns the memory limit of this process' cgroup under
// root (normally /sys/fs/cgroup), v2 or v1, or 0 when there is none.
func cgroupMemoryLimit(root string) (int64, error) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, fmt.Errorf("reading /proc/self/cgroup: %w", err)
	}
	return cgroupLimitFrom(root, self)
}

// cgroupLimitFrom is cgroupMemoryLimit with /proc/self/cgroup's content
// given: the process' own cgroup first, then the namespace's root (inside a
// container the path names the host's hierarchy).
func cgroupLimitFrom(root string, self []byte) (int64, error) {
	var candidates []string
	sc := bufio.NewScanner(bytes.NewReader(self))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			candidates = append(candidates, filepath.Join(root, parts[2], "memory.max"), filepath.Join(root, "memory.max"))
		case containsController(parts[1], "memory"):
			candidates = append(candidates, filepath.Join(root, "memory", parts[2], "memory.limit_in_bytes"), filepath.Join(root, "memory", "memory.limit_in_bytes"))
		}
	}
	for _, c := range candidates {
		b, err := os.ReadFile(c) //nolint:gosec // a cgroup file that the kernel's /proc/self/cgroup names, only read
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, nil
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", c, err)
		}
		// cgroup v1 writes "no limit" as the largest page-aligned int64.
		if v >= 1<<62 {
			return 0, nil
		}
		return v, nil
	}
	return 0, nil
}

func containsController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}
