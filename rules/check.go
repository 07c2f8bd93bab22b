package rules

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/ritwikareddykancharla/token-path-observability/internal/yamlerr"
)

// CheckRuleFile parses one rule file and checks every expression the way
// `promtool check rules` (and the rule manager) does. It returns the number
// of rules and one error per problem, each naming the file, the line and
// column, the group and the rule, without Go type names. Both `tokenpath
// check rules` and configuration loading use it, so they report the same
// lines.
func CheckRuleFile(file string) (int, []error) {
	// rulefmt only logs a warning about extra YAML documents.
	rgs, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		for i, e := range errs {
			errs[i] = yamlerr.Clean(e)
		}
		return 0, errs
	}
	n := 0
	for _, g := range rgs.Groups {
		n += len(g.Rules)
	}
	return n, nil
}

// CheckRuleFiles validates rule files the way `promtool check rules` does
// and reports to w in promtool's format: for each file "Checking F", then
// "  SUCCESS: N rules found", or "  FAILED:" followed by one line per problem
// (see CheckRuleFile). Every problem is printed once, there; the error only
// names the bad files.
func CheckRuleFiles(w io.Writer, files ...string) error {
	var failed []string
	for _, f := range files {
		if _, err := fmt.Fprintln(w, "Checking", f); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
		n, errs := CheckRuleFile(f)
		if len(errs) > 0 {
			fmt.Fprintln(w, "  FAILED:")
			for _, e := range errs {
				// ParseFile already prefixes every error with the file name.
				fmt.Fprintln(w, e.Error())
			}
			fmt.Fprintln(w)
			failed = append(failed, f)
			continue
		}
		fmt.Fprintf(w, "  SUCCESS: %d rules found\n\n", n)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d rule files are invalid: %s", len(failed), len(files), strings.Join(failed, ", "))
	}
	return nil
}
