package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCgroupLimitFrom(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string // relative to the cgroup root
		self  string
		want  int64
	}{
		{"v2 own cgroup", map[string]string{"system.slice/tokenpath.service/memory.max": "1073741824\n"}, "0::/system.slice/tokenpath.service\n", 1 << 30},
		{"v2 unlimited", map[string]string{"system.slice/x/memory.max": "max\n"}, "0::/system.slice/x\n", 0},
		{"v2 container root", map[string]string{"memory.max": "536870912\n"}, "0::/kubepods/pod1/abc\n", 512 << 20},
		{"v1 memory controller", map[string]string{"memory/docker/abc/memory.limit_in_bytes": "268435456\n"}, "12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n", 256 << 20},
		{"v1 unlimited", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, "11:memory:/\n", 0},
		{"no cgroup files", nil, "0::/\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tc.files {
				p := filepath.Join(root, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
			}
			got, err := cgroupLimitFrom(root, []byte(tc.self))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMemoryLimitFlagsApply(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	logger := slog.New(slog.DiscardHandler)

	m := memoryLimitFlags{auto: true, ratio: 0.5, limit: 1 << 30}
	got, err := m.apply(logger, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, int64(512<<20), got)
	require.Equal(t, int64(512<<20), debug.SetMemoryLimit(-1))

	_, err = (&memoryLimitFlags{auto: true, ratio: 1.5}).apply(logger, t.TempDir())
	require.ErrorContains(t, err, "--auto-gomemlimit.ratio=1.5")

	t.Setenv("GOMEMLIMIT", "100MiB")
	got, err = (&memoryLimitFlags{auto: true, ratio: 0.9, limit: 1 << 30}).apply(logger, t.TempDir())
	require.NoError(t, err)
	require.Zero(t, got, "GOMEMLIMIT in the environment wins")
}
