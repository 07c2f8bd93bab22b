package storage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/tsdb/fileutil"
	"github.com/stretchr/testify/require"
)

func TestCheckDirectory(t *testing.T) {
	t.Run("created when missing, left clean", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "data")
		require.NoError(t, CheckDirectory(dir))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, entries, "no probe file and no lock file left behind")
	})
	t.Run("below a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		err := CheckDirectory(filepath.Join(file, "data"))
		require.ErrorContains(t, err, `--storage.tsdb.path="`+filepath.Join(file, "data")+`": cannot create it`)
	})
	t.Run("locked by another process", func(t *testing.T) {
		dir := t.TempDir()
		release, _, err := fileutil.Flock(filepath.Join(dir, lockFile))
		require.NoError(t, err)
		t.Cleanup(func() { _ = release.Release() })
		err = CheckDirectory(dir)
		require.ErrorContains(t, err, "is in use by another process")
		_, err = os.Stat(filepath.Join(dir, lockFile))
		require.NoError(t, err, "the other process' lock file stays")
	})
}
