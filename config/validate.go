package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	config_util "github.com/prometheus/common/config"

	"github.com/ritwikareddykancharla/token-path-observability/rules"
	"github.com/ritwikareddykancharla/token-path-observability/scrape/probe"
)

// validate checks what Prometheus' loader does not and the reloaders would
// reject: every probe of the tokenpath: section (as the prober will compile
// it) and every rule file (parsed and its PromQL checked, as `tokenpath check
// rules` does). Load runs it, so the server before it binds its port,
// every reload and `tokenpath check config` accept and reject the same
// files. Each problem names its line and field.
func validate(cfg *Config, getenv func(string) string) error {
	var errs []error
	if err := probe.Validate(cfg.Tokenpath.Probes, getenv); err != nil {
		for _, e := range unjoin(err) {
			var fe *probe.FieldError
			if !errors.As(e, &fe) {
				errs = append(errs, fmt.Errorf("tokenpath.probes: %w", e))
				continue
			}
			errs = append(errs, fmt.Errorf("line %d: field tokenpath.probes[%d].%s: %w",
				cfg.Tokenpath.fieldLine(fe.Index, fe.Field), fe.Index, fe.Field, fe.Err))
		}
	}
	errs = append(errs, httpClients(cfg)...)
	files, err := RuleFiles(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range files {
		if _, ferrs := rules.CheckRuleFile(f); len(ferrs) > 0 {
			// Each error already names the file, line and column, group and
			// rule, exactly as `tokenpath check rules` prints it.
			errs = append(errs, fmt.Errorf("rule_files: %w", errors.Join(ferrs...)))
		}
	}
	return errors.Join(errs...)
}

// httpClients builds the HTTP client of every scrape job, Alertmanager and
// remote write queue, as the scrape manager, the notifier and remote storage
// will: a TLS or credentials file that cannot be read fails here, before
// anything runs, instead of when the configuration is applied.
func httpClients(cfg *Config) []error {
	var errs []error
	scfgs, err := cfg.Prometheus.GetScrapeConfigs()
	if err != nil {
		return []error{fmt.Errorf("scrape_configs: %w", err)}
	}
	for _, sc := range scfgs {
		if _, err := config_util.NewClientFromConfig(sc.HTTPClientConfig, sc.JobName); err != nil {
			errs = append(errs, fmt.Errorf("scrape_configs: job %q: %w", sc.JobName, err))
		}
	}
	for i, am := range cfg.Prometheus.AlertingConfig.AlertmanagerConfigs {
		if _, err := config_util.NewClientFromConfig(am.HTTPClientConfig, "alertmanager"); err != nil {
			errs = append(errs, fmt.Errorf("alerting.alertmanagers[%d]: %w", i, err))
		}
	}
	for i, rw := range cfg.Prometheus.RemoteWriteConfigs {
		if _, err := config_util.NewClientFromConfig(rw.HTTPClientConfig, "remote_write"); err != nil {
			errs = append(errs, fmt.Errorf("remote_write[%d]: %w", i, err))
		}
	}
	return errs
}

// RuleFiles resolves the configuration's rule_files patterns the way the
// rule manager does. As promtool, a name without a wildcard must exist (the
// rule manager would silently load nothing); a pattern may match nothing.
func RuleFiles(cfg *Config) ([]string, error) {
	var files []string
	for _, pat := range cfg.Prometheus.RuleFiles {
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("rule_files: bad pattern %q: %w", pat, err)
		}
		if !strings.ContainsAny(pat, "*?[") {
			if _, err := os.Stat(pat); err != nil {
				return nil, fmt.Errorf("rule_files: %w", err)
			}
		}
		files = append(files, matches...)
	}
	return files, nil
}

// unjoin lists the errors of an errors.Join, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
