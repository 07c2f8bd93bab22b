package storage

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/prometheus/tsdb/fileutil"
)

// lockFile is the name of the TSDB's lock file inside its directory.
const lockFile = "lock"

// CheckDirectory makes sure the TSDB directory can be used, so that a
// directory that cannot be is an error before anything binds a port: it
// exists or can be created, it is writable, and no other process (another
// tokenpath or a Prometheus) holds its lock. The TSDB takes the lock for
// real when it opens; the check leaves the directory as it found it.
func CheckDirectory(path string) error {
	if err := os.MkdirAll(path, 0o755); err != nil { //nolint:gosec // G301: the data directory stays world-readable, as the TSDB creates it
		return fmt.Errorf("--storage.tsdb.path=%q: cannot create it: %w", path, err)
	}
	probe, err := os.CreateTemp(path, ".tokenpath-write-check-*")
	if err != nil {
		return fmt.Errorf("--storage.tsdb.path=%q is not writable: %w", path, err)
	}
	name := probe.Name()
	if err := probe.Close(); err != nil {
		return fmt.Errorf("--storage.tsdb.path=%q: %w", path, err)
	}
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("--storage.tsdb.path=%q: %w", path, err)
	}
	lock := filepath.Join(path, lockFile)
	release, existed, err := fileutil.Flock(lock)
	if err != nil {
		return fmt.Errorf("--storage.tsdb.path=%q is in use by another process (it holds %s): %w", path, lock, err)
	}
	if err := release.Release(); err != nil {
		return fmt.Errorf("--storage.tsdb.path=%q: releasing %s: %w", path, lock, err)
	}
	if !existed {
		// A lock file left behind tells the TSDB that the last run did not
		// stop cleanly (prometheus_tsdb_clean_start 0): remove ours.
		if err := os.Remove(lock); err != nil {
			return fmt.Errorf("--storage.tsdb.path=%q: %w", path, err)
		}
	}
	return nil
}
