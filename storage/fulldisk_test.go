package storage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory: a real file
// system that fills up. It needs root (CAP_SYS_ADMIN), as .ci/run has.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tokenpath-test", dir).CombinedOutput()
	require.NoError(t, err, "mounting a %d-byte tmpfs on %s needs root (CAP_SYS_ADMIN): %s", size, dir, out)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file until the file system is full and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 64<<10)
	for range 1 << 14 { // bounded: 1 GiB at most
		if _, err := f.Write(buf); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			return path
		}
	}
	t.Fatal("the file system never filled up")
	return ""
}

// TestFullDiskIsVisibleAndRecovers fills the data directory's file system:
// commits fail, the failure is counted and WriteError says why (what
// /-/ready reports), samples written before stay queryable, and ingestion
// resumes once space returns.
func TestFullDiskIsVisibleAndRecovers(t *testing.T) {
	dir := mountTmpfs(t, 8<<20)
	reg := prometheus.NewRegistry()
	s := New(Options{Path: filepath.Join(dir, "data"), Registerer: reg})
	require.NoError(t, s.Open())
	t.Cleanup(func() { _ = s.Close() })

	series := func(i int) labels.Labels {
		return labels.FromStrings("__name__", "disk_test", "i", strconv.Itoa(i), "pad", strings.Repeat("x", 200))
	}
	ts := int64(1000)
	for i := range 100 {
		require.NoError(t, appendFloat(t, s.Local(), series(i), ts, 1))
	}
	require.NoError(t, s.WriteError())
	require.Equal(t, 0.0, testutil.ToFloat64(s.local.health.failures))

	filler := fill(t, dir)
	var commitErr error
	// New series and samples until the WAL's page cannot be written; bounded.
	for i := 0; i < 20000 && commitErr == nil; i++ {
		ts++
		commitErr = appendFloat(t, s.Local(), series(100+i), ts, 2)
	}
	require.Error(t, commitErr, "commits kept succeeding on a full file system")
	require.ErrorIs(t, commitErr, syscall.ENOSPC)
	werr := s.WriteError()
	require.Error(t, werr)
	require.Contains(t, werr.Error(), "no space left on device")
	require.Positive(t, testutil.ToFloat64(s.local.health.failures))
	require.Equal(t, 1.0, testutil.ToFloat64(s.local.health.failing))

	// What was written before is still served.
	got := samples(t, s.Local(), labels.MustNewMatcher(labels.MatchEqual, "__name__", "disk_test"), labels.MustNewMatcher(labels.MatchRegexp, "i", "[0-9]|[0-9][0-9]"))
	require.Len(t, got, 100)
	for k, v := range got {
		require.Equal(t, []float64{1}, v, k)
	}

	// Space returns: the next commit succeeds and the state clears.
	require.NoError(t, os.Remove(filler))
	ts++
	err := appendFloat(t, s.Local(), series(0), ts, 3)
	for i := 0; i < 10 && err != nil; i++ { // the failed page is retried first
		ts++
		err = appendFloat(t, s.Local(), series(0), ts, 3)
	}
	require.NoError(t, err)
	require.NoError(t, s.WriteError())
	require.Equal(t, 0.0, testutil.ToFloat64(s.local.health.failing))
	got = samples(t, s.Local(), labels.MustNewMatcher(labels.MatchEqual, "i", "0"))
	require.Equal(t, []float64{1, 3}, got[series(0).String()][:2])
	require.NotErrorIs(t, s.WriteError(), syscall.ENOSPC)
}

// TestAppendersKeepTheTSDBInterfaces: the health wrappers still offer what
// Prometheus' remote-write receiver and scrape loop assert on the TSDB's
// appenders.
func TestAppendersKeepTheTSDBInterfaces(t *testing.T) {
	s := newStorage(t, t.TempDir())
	require.NoError(t, s.Open())
	t.Cleanup(func() { _ = s.Close() })
	app := s.Local().AppenderV2(context.Background())
	_, ok := app.(promstorage.ExemplarAppenderV2)
	require.True(t, ok, "AppenderV2 lost ExemplarAppenderV2")
	_, ok = app.(promstorage.GetRef)
	require.True(t, ok, "AppenderV2 lost GetRef")
	require.NoError(t, app.Rollback())
}
