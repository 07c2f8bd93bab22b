package rules

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// CheckRuleFiles validates rule files the way `promtool check rules` does
// and reports to w in promtool's format: for each file "Checking F", then
// "  SUCCESS: N rules found", or "  FAILED:" followed by one line per problem
// naming the file, the line and column, the group and the rule. It returns an
// error naming every bad file, or nil when all are good.
func CheckRuleFiles(w io.Writer, files ...string) error {
	p := parser.NewParser(parser.Options{})
	// rulefmt only logs a warning about extra YAML documents; the report
	// itself goes to w.
	logger := slog.New(slog.DiscardHandler)
	var failed []error
	for _, f := range files {
		if _, err := fmt.Fprintln(w, "Checking", f); err != nil {
			return fmt.Errorf("rules/check.go: writing the report: %w", err)
		}
		rgs, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, p, logger)
		if len(errs) > 0 {
			fmt.Fprintln(w, "  FAILED:")
			for _, e := range errs {
				// ParseFile already prefixes every error with the file name.
				fmt.Fprintln(w, e.Error())
			}
			fmt.Fprintln(w)
			failed = append(failed, fmt.Errorf("rule file %s: %w", f, errors.Join(errs...)))
			continue
		}
		n := 0
		for _, g := range rgs.Groups {
			n += len(g.Rules)
		}
		fmt.Fprintf(w, "  SUCCESS: %d rules found\n\n", n)
	}
	if len(failed) > 0 {
		return fmt.Errorf("rules/check.go: %d of %d rule files are invalid: %w", len(failed), len(files), errors.Join(failed...))
	}
	return nil
}
