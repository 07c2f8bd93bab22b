package main_test

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// lastWALSegment returns the path of the newest WAL segment of a data
// directory.
func lastWALSegment(t *testing.T, dataDir string) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "wal"))
	require.NoError(t, err)
	var segs []string
	for _, e := range entries {
		if !e.IsDir() && strings.Trim(e.Name(), "0123456789") == "" {
			segs = append(segs, e.Name())
		}
	}
	require.NotEmpty(t, segs, "no WAL segment in %s", dataDir)
	slices.Sort(segs)
	return filepath.Join(dataDir, "wal", segs[len(segs)-1])
}

// TestDamagedWALIsRepaired: a WAL segment cut short or overwritten with
// garbage at its end (a crash mid-write, a bad sector) does not stop
// tokenpath: the TSDB repairs the WAL at the first bad record, says so in
// the log, serves the samples before it unchanged, and scraping goes on.
func TestDamagedWALIsRepaired(t *testing.T) {
	damages := []struct {
		name   string
		damage func(t *testing.T, segment string)
	}{
		{"truncated mid-record", func(t *testing.T, segment string) {
			fi, err := os.Stat(segment)
			require.NoError(t, err)
			require.Greater(t, fi.Size(), int64(4096))
			require.NoError(t, os.Truncate(segment, fi.Size()-37))
		}},
		{"garbage over its end", func(t *testing.T, segment string) {
			f, err := os.OpenFile(segment, os.O_RDWR, 0)
			require.NoError(t, err)
			fi, err := f.Stat()
			require.NoError(t, err)
			junk := make([]byte, 512)
			for i := range junk {
				junk[i] = byte(0xA5 ^ i)
			}
			_, err = f.WriteAt(junk, fi.Size()-int64(len(junk)))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			run := startCounting(t, 12)
			T, before := run.T, run.raw
			require.Equal(t, -1, run.p.stop(syscall.SIGKILL, 10*time.Second))

			d.damage(t, lastWALSegment(t, run.dataDir))

			p2 := run.restart(t)
			require.Contains(t, p2.Logs(), "attempting repair", "the log says the WAL was repaired")
			after := rawSamples(t, p2.api(), "app_scrapes_total", T)
			require.Len(t, after, 1)
			require.Len(t, before, 1)
			// What survived is a prefix of what was there: the samples up to
			// the damage, with their values and timestamps unchanged.
			got, had := after[0].Values, before[0].Values
			require.NotEmpty(t, got, "the samples before the damage are served")
			require.LessOrEqual(t, len(got), len(had))
			require.Equal(t, had[:len(got)], got)
			waitAtLeast(t, p2.api(), `sum(count_over_time(app_scrapes_total[10m]))`, float64(len(got)+3), 30*time.Second)
		})
	}
}

// TestHalfWrittenBlocks: block directories left behind by a crash — one
// still being written by a compaction (its .tmp-for-creation name), one
// without meta.json — do not stop tokenpath: the first is removed, the
// second is skipped with an error naming it, and the rest is served.
func TestHalfWrittenBlocks(t *testing.T) {
	run := startCounting(t, 5)
	dataDir, T, before := run.dataDir, run.T, run.raw
	require.Equal(t, -1, run.p.stop(syscall.SIGKILL, 10*time.Second))

	inCreation := filepath.Join(dataDir, "01JDQ0000000000000000000AA.tmp-for-creation")
	noMeta := filepath.Join(dataDir, "01JDQ0000000000000000000BB")
	for _, dir := range []string{inCreation, noMeta} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "chunks"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "chunks", "000001"), []byte("half a chunk"), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "index"), []byte("half an index"), 0o600))
	}

	p2 := run.restart(t)
	require.Equal(t, before, rawSamples(t, p2.api(), "app_scrapes_total", T), "the head's samples are all served")
	_, err := os.Stat(inCreation)
	require.ErrorIs(t, err, os.ErrNotExist, "an unfinished compaction's output is removed")
	logs := p2.Logs()
	require.Contains(t, logs, "Failed to read meta.json")
	require.Contains(t, logs, noMeta, "the skipped block is named")
}

// TestUnusableDataDirectory: a data directory that cannot be created, or
// that another tokenpath holds, stops the process with the reason before
// it binds its port.
func TestUnusableDataDirectory(t *testing.T) {
	file := writeFile(t, t.TempDir(), "not-a-directory", "")
	held := t.TempDir()
	start(t, procOpts{dataDir: held})

	cases := []struct {
		name, dataDir, want string
	}{
		{"below a file", filepath.Join(file, "data"), `--storage.tsdb.path="` + filepath.Join(file, "data") + `": cannot create it`},
		{"held by another tokenpath", held, "is in use by another process"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := testbin.FreePort(t)
			p := launch(t, procOpts{dataDir: tc.dataDir, addr: addr})
			exited, code := p.waitExit(30 * time.Second)
			require.True(t, exited, "tokenpath keeps running with an unusable data directory")
			require.Equal(t, 1, code)
			require.Contains(t, p.Logs(), tc.want)
			require.NotContains(t, p.Logs(), "Listening", "no port was bound")
			// The port is still free: nothing bound it.
			l, err := net.Listen("tcp", addr)
			require.NoError(t, err)
			require.NoError(t, l.Close())
		})
	}
}
