package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/alecthomas/kingpin/v2"
)

// rulesExport is `tokenpath rules export`: the embedded rule files, rendered
// from the same flags (ruleFlags) the server takes, written as ordinary
// Prometheus rule files for a central Prometheus, a Mimir ruler or vmalert.
type rulesExport struct {
	cmd   *kingpin.CmdClause
	dir   string
	rules ruleFlags
	out   io.Writer
}

func registerRulesExport(app *kingpin.Application) *rulesExport {
	r := &rulesExport{out: os.Stdout}
	group := app.Command("rules", "The embedded rule files.")
	r.cmd = group.Command("export", "Write every embedded rule group (token path, GPU, alerts, probes, SLOs), rendered with the server's rule flags, as Prometheus rule files for another Prometheus, a Mimir ruler or vmalert.")
	r.cmd.Flag("dir", "Directory to write the rule files to (created if missing; files of the same names are replaced).").Required().StringVar(&r.dir)
	r.rules.register(r.cmd)
	return r
}

func (r *rulesExport) run() error {
	files, err := r.rules.files()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("--no-rules.defaults: there are no embedded rules to export")
	}
	// Readable by all: the rules hold no secret, and the Prometheus that
	// loads them usually runs as another user.
	if err := os.MkdirAll(r.dir, 0o755); err != nil { //nolint:gosec // for the Prometheus user to read
		return fmt.Errorf("--dir=%q: %w", r.dir, err)
	}
	names := slices.Sorted(maps.Keys(files))
	for _, name := range names {
		path := filepath.Join(r.dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil { //nolint:gosec // for the Prometheus user to read
			return fmt.Errorf("--dir=%q: writing %s: %w", r.dir, name, err)
		}
		fmt.Fprintln(r.out, path)
	}
	fmt.Fprintf(r.out, "Wrote %d rule files to %s; list them under rule_files in the Prometheus configuration.\n", len(names), r.dir)
	return nil
}
