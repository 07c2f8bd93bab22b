// Package config loads tokenpath's configuration: a Prometheus
// configuration file with an optional top-level `tokenpath:` section, or,
// without a file, the seed's environment variables and the endpoint flags;
// it validates it the same way for a start, a reload and `check config`
// (validate.go), adds the host external label (hostlabel.go), and applies
// it to every part that takes configuration, keeping the running one when a
// reload fails (reload.go).
package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	yamlv2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"

	"github.com/ritwikareddykancharla/token-path-observability/internal/yamlerr"
	"github.com/ritwikareddykancharla/token-path-observability/scrape/probe"
)

// Config is a loaded configuration: Prometheus' own configuration plus
// tokenpath's section.
type Config struct {
	Prometheus *promconfig.Config
	Tokenpath  Extensions
	// File is the file it came from, empty when it was built from the
	// environment and flags.
	File string
}

// Extensions is the top-level `tokenpath:` section of a configuration
// file. Prometheus' loader rejects unknown fields, so the section is cut out
// (keeping line numbers) before the rest is handed to it.
type Extensions struct {
	// Probes are streaming probes of OpenAI-compatible endpoints.
	Probes []probe.Config `yaml:"probes"`

	// line is the file's line of the section; probeLines the line of every
	// probe's fields (and "" for the probe itself), for error messages.
	line       int
	probeLines []map[string]int
}

// fieldLine returns the line of field of the index-th probe, else of the
// probe, else of the section; 0 when unknown.
func (e Extensions) fieldLine(index int, field string) int {
	if index >= 0 && index < len(e.probeLines) {
		if l := e.probeLines[index][field]; l > 0 {
			return l
		}
		return e.probeLines[index][""]
	}
	return e.line
}

// Sources are the places settings come from besides the file. Flags win over
// environment variables, which win over the file, which wins over defaults.
type Sources struct {
	// ConfigFile is --config.file; empty means none.
	ConfigFile string
	// LookupEnv reads the environment variables (os.LookupEnv in main): a
	// variable set to the empty string turns its endpoints off. When nil,
	// Getenv is used, and an empty value counts as unset.
	LookupEnv func(string) (string, bool)
	// Getenv reads the environment when LookupEnv is nil, and the probes'
	// api_key_env variables.
	Getenv func(string) string
	// EndpointFlags are --vllm.endpoint, --tgi.endpoint, --sglang.endpoint
	// and --llamacpp.endpoint, keyed by EndpointKind.Job; nil (or absent):
	// the flag was not given. Empty values mean "none".
	EndpointFlags map[string][]string
	// ScrapeInterval is --scrape.interval (0: not set).
	ScrapeInterval time.Duration
	// ExtraScrapeConfigs are YAML scrape_configs entries added to every
	// configuration (the built-in self-scrape job, the demo's simulators).
	ExtraScrapeConfigs []string
	// DefaultEndpoints, keyed by EndpointKind.Job, apply when neither flag
	// nor environment sets a kind and there is no file. The demo removes
	// them.
	DefaultEndpoints map[string][]string
	// Hostname names the machine for the external label host when
	// global.external_labels does not set it (hostlabel.go); nil means
	// os.Hostname.
	Hostname func() (string, error)
}

// lookupEnv reads one variable through LookupEnv or Getenv.
func (src Sources) lookupEnv(name string) (string, bool) {
	if src.LookupEnv != nil {
		return src.LookupEnv(name)
	}
	if src.Getenv != nil {
		if v := src.Getenv(name); v != "" {
			return v, true
		}
	}
	return "", false
}

// getenv reads one variable's value ("" when unset).
func (src Sources) getenv(name string) string {
	v, _ := src.lookupEnv(name)
	if v == "" && src.Getenv != nil {
		v = src.Getenv(name)
	}
	return v
}

// defaultScrapeInterval is the seed's SCRAPE_INTERVAL default, used when
// there is no file (Prometheus' own default is 1m).
const defaultScrapeInterval = 15 * time.Second

const envScrapeInterval = "SCRAPE_INTERVAL"

// FileError is a problem with the configuration file: Err may join several,
// each naming its line and field (or its rule file).
type FileError struct {
	File string
	Err  error
}

// Error names the flag and the file, as Prometheus does.
func (e *FileError) Error() string {
	return fmt.Sprintf("couldn't load configuration (--config.file=%q): %v", e.File, e.Err)
}

// Unwrap returns the problems.
func (e *FileError) Unwrap() error { return e.Err }

// Problems lists the problems one by one.
func (e *FileError) Problems() []error { return unjoin(e.Err) }

// Load builds the configuration from the file (if any), the
// environment and the flags. Errors name the file, and for a bad file the
// line and field, as Prometheus' loader reports them.
func Load(src Sources, logger *slog.Logger) (*Config, error) {
	interval, err := src.scrapeInterval()
	if err != nil {
		return nil, err
	}

	var (
		content []byte
		ext     Extensions
		dir     string
	)
	if src.ConfigFile != "" {
		raw, err := os.ReadFile(src.ConfigFile)
		if err != nil {
			return nil, &FileError{File: src.ConfigFile, Err: err}
		}
		content, ext, err = splitExtensions(raw)
		if err != nil {
			return nil, &FileError{File: src.ConfigFile, Err: yamlerr.Clean(err)}
		}
		dir = filepath.Dir(src.ConfigFile)
		for i, p := range ext.Probes {
			// As Prometheus does for its own files: relative to the
			// configuration file.
			if p.APIKeyFile != "" && !filepath.IsAbs(p.APIKeyFile) {
				ext.Probes[i].APIKeyFile = filepath.Join(dir, p.APIKeyFile)
			}
		}
	}
	cfg, err := promconfig.Load(string(content), logger)
	if err != nil {
		err = yamlerr.Clean(err)
		if kinds := unregisteredDiscovery(content); len(kinds) > 0 {
			err = fmt.Errorf("%w (%s: tokenpath registers only static_configs and file_sd_configs service discovery)", err, strings.Join(kinds, ", "))
		}
		if src.ConfigFile != "" {
			return nil, &FileError{File: src.ConfigFile, Err: err}
		}
		return nil, fmt.Errorf("couldn't build configuration: %w", err)
	}
	if dir != "" {
		cfg.SetDirectory(dir)
	}
	if err := setHostLabel(cfg, src.Hostname); err != nil {
		if src.ConfigFile != "" {
			return nil, &FileError{File: src.ConfigFile, Err: err}
		}
		return nil, err
	}
	if src.ConfigFile == "" {
		// Without a file the seed's defaults hold; scrape native histograms
		// and keep the classic buckets, which heatmaps and rules read.
		t := true
		cfg.GlobalConfig.ScrapeNativeHistograms = &t
		cfg.GlobalConfig.AlwaysScrapeClassicHistograms = true
		if interval == 0 {
			interval = defaultScrapeInterval
		}
	}
	if interval > 0 {
		setScrapeInterval(cfg, interval)
	}
	if src.ConfigFile == "" {
		// Prometheus' default evaluation interval is 1m; without a file the
		// token-path rules follow the scrape interval, so a fresh start shows
		// the unified series within a minute.
		cfg.GlobalConfig.EvaluationInterval = cfg.GlobalConfig.ScrapeInterval
	}

	extra := append([]string(nil), src.ExtraScrapeConfigs...)
	var replaced []string
	for _, e := range src.resolveEndpoints() {
		if src.ConfigFile != "" && !e.set {
			// The file's own job of that name, if any, stands.
			continue
		}
		job, err := endpointJob(e.kind.Job, e.endpoints)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.source, err)
		}
		if job != "" {
			extra = append(extra, job)
		} else if e.set {
			// Set to nothing: the kind is off, even where the file has a
			// job of that name.
			replaced = append(replaced, e.kind.Job)
		}
	}
	removeJobs(cfg, replaced)
	if err := addScrapeConfigs(cfg, extra); err != nil {
		return nil, err
	}
	c := &Config{Prometheus: cfg, Tokenpath: ext, File: src.ConfigFile}
	if err := validate(c, src.getenv); err != nil {
		if src.ConfigFile != "" {
			return nil, &FileError{File: src.ConfigFile, Err: err}
		}
		return nil, err
	}
	return c, nil
}

func (src Sources) scrapeInterval() (time.Duration, error) {
	if src.ScrapeInterval > 0 {
		return src.ScrapeInterval, nil
	}
	v := src.getenv(envScrapeInterval)
	if v == "" {
		return 0, nil
	}
	d, err := model.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: not a positive duration such as 15s", envScrapeInterval, v)
	}
	return time.Duration(d), nil
}

// removeJobs drops the named jobs from the configuration.
func removeJobs(cfg *promconfig.Config, names []string) {
	if len(names) == 0 {
		return
	}
	cfg.ScrapeConfigs = slices.DeleteFunc(cfg.ScrapeConfigs, func(sc *promconfig.ScrapeConfig) bool {
		return slices.Contains(names, sc.JobName)
	})
}

// addScrapeConfigs parses YAML scrape config entries, validates them against
// the global section and appends them. A job that already exists in the file
// is replaced: flags and environment win over the file.
func addScrapeConfigs(cfg *promconfig.Config, docs []string) error {
	for _, doc := range docs {
		var scs []*promconfig.ScrapeConfig
		if err := yaml2Strict([]byte(doc), &scs); err != nil {
			return fmt.Errorf("built-in scrape config: %w", err)
		}
		for _, sc := range scs {
			if err := sc.Validate(cfg.GlobalConfig); err != nil {
				return fmt.Errorf("built-in scrape config %q: %w", sc.JobName, err)
			}
			replaced := false
			for i, old := range cfg.ScrapeConfigs {
				if old.JobName == sc.JobName {
					cfg.ScrapeConfigs[i] = sc
					replaced = true
				}
			}
			if !replaced {
				cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, sc)
			}
		}
	}
	return nil
}

// setScrapeInterval overrides the global scrape interval and every job that
// inherited it.
func setScrapeInterval(cfg *promconfig.Config, d time.Duration) {
	old := cfg.GlobalConfig.ScrapeInterval
	nd := model.Duration(d)
	cfg.GlobalConfig.ScrapeInterval = nd
	if cfg.GlobalConfig.ScrapeTimeout > nd {
		cfg.GlobalConfig.ScrapeTimeout = nd
	}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.ScrapeInterval == old {
			sc.ScrapeInterval = nd
			if sc.ScrapeTimeout > nd {
				sc.ScrapeTimeout = nd
			}
		}
	}
}

// splitExtensions cuts the top-level `tokenpath:` key out of a
// configuration file, replacing its lines with blank ones so that line
// numbers in Prometheus' errors still point into the user's file.
func splitExtensions(raw []byte) ([]byte, Extensions, error) {
	var ext Extensions
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, ext, err
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return raw, ext, nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		key := m.Content[i]
		if key.Value != "tokenpath" {
			continue
		}
		// Decode the whole document strictly, so that an unknown field in
		// the section is an error with the file's own line number; the inline
		// map takes Prometheus' keys, which its loader checks.
		var doc struct {
			Tokenpath Extensions     `yaml:"tokenpath"`
			Rest      map[string]any `yaml:",inline"`
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&doc); err != nil {
			return nil, ext, fmt.Errorf("tokenpath section (line %d): %w", key.Line, err)
		}
		ext = doc.Tokenpath
		ext.line = key.Line
		ext.probeLines = probeLines(m.Content[i+1])
		start := key.Line
		end := -1 // Last line of the section: the line before the next top-level key.
		if i+2 < len(m.Content) {
			end = m.Content[i+2].Line - 1
		}
		lines := bytes.Split(raw, []byte("\n"))
		if end < 0 || end > len(lines) {
			end = len(lines)
		}
		for l := start - 1; l < end; l++ {
			lines[l] = nil
		}
		return bytes.Join(lines, []byte("\n")), ext, nil
	}
	return raw, ext, nil
}

// probeLines maps every probe of the tokenpath: section's node to the lines
// of its fields.
func probeLines(section *yaml.Node) []map[string]int {
	if section.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(section.Content); i += 2 {
		if section.Content[i].Value != "probes" || section.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		var out []map[string]int
		for _, item := range section.Content[i+1].Content {
			lines := map[string]int{"": item.Line}
			if item.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(item.Content); j += 2 {
					lines[item.Content[j].Value] = item.Content[j].Line
				}
			}
			out = append(out, lines)
		}
		return out
	}
	return nil
}

// yaml2Strict decodes with the YAML library Prometheus' config types are
// written for (their UnmarshalYAML methods fill in the defaults).
func yaml2Strict(b []byte, out any) error { return yamlv2.UnmarshalStrict(b, out) }

// unregisteredDiscovery lists the service discovery kinds a configuration
// uses that tokenpath does not link (every *_sd_configs key of a scrape job
// or an Alertmanager set but file_sd_configs), so that the loader's error
// can say why they are unknown.
func unregisteredDiscovery(content []byte) []string {
	var doc struct {
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
		Alerting      struct {
			Alertmanagers []map[string]any `yaml:"alertmanagers"`
		} `yaml:"alerting"`
	}
	if yaml.Unmarshal(content, &doc) != nil {
		return nil
	}
	var kinds []string
	for _, section := range append(doc.ScrapeConfigs, doc.Alerting.Alertmanagers...) {
		for key := range section {
			if strings.HasSuffix(key, "_sd_configs") && key != "file_sd_configs" && !slices.Contains(kinds, key) {
				kinds = append(kinds, key)
			}
		}
	}
	slices.Sort(kinds)
	return kinds
}
