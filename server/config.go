package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	yamlv2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"

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
}

// Sources are the places settings come from besides the file. Flags win over
// environment variables, which win over the file, which wins over defaults.
type Sources struct {
	// ConfigFile is --config.file; empty means none.
	ConfigFile string
	// Getenv reads the seed's environment variables (os.Getenv in main).
	Getenv func(string) string
	// VLLMEndpoints and TGIEndpoints are --vllm.endpoint / --tgi.endpoint.
	VLLMEndpoints, TGIEndpoints []string
	// ScrapeInterval is --scrape.interval (0: not set).
	ScrapeInterval time.Duration
	// ExtraScrapeConfigs are YAML scrape_configs entries added to every
	// configuration (the built-in self-scrape job, the demo's simulators).
	ExtraScrapeConfigs []string
	// Defaults for the seed's variables when neither flag nor environment
	// sets them and there is no file. The demo replaces them.
	DefaultVLLM, DefaultTGI []string
}

// defaultScrapeInterval is the seed's SCRAPE_INTERVAL default, used when
// there is no file (Prometheus' own default is 1m).
const defaultScrapeInterval = 15 * time.Second

const (
	envVLLM           = "VLLM_ENDPOINT"
	envTGI            = "TGI_ENDPOINT"
	envScrapeInterval = "SCRAPE_INTERVAL"
)

// LoadConfig builds the configuration from the file (if any), the
// environment and the flags. Errors name the file, and for a bad file the
// line and field, as Prometheus' loader reports them.
func LoadConfig(src Sources, logger *slog.Logger) (*Config, error) {
	if src.Getenv == nil {
		src.Getenv = func(string) string { return "" }
	}
	interval, err := src.scrapeInterval()
	if err != nil {
		return nil, err
	}
	vllm, vllmSet := src.endpoints(src.VLLMEndpoints, envVLLM, src.DefaultVLLM)
	tgi, tgiSet := src.endpoints(src.TGIEndpoints, envTGI, src.DefaultTGI)

	var (
		content []byte
		ext     Extensions
		dir     string
	)
	if src.ConfigFile != "" {
		raw, err := os.ReadFile(src.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("couldn't load configuration (--config.file=%q): %w", src.ConfigFile, err)
		}
		content, ext, err = splitExtensions(raw)
		if err != nil {
			return nil, fmt.Errorf("couldn't load configuration (--config.file=%q): %w", src.ConfigFile, err)
		}
		dir = filepath.Dir(src.ConfigFile)
	}
	cfg, err := promconfig.Load(string(content), logger)
	if err != nil {
		if strings.Contains(err.Error(), "_sd_configs not found") {
			err = fmt.Errorf("%w (tokenpath registers only static_configs and file_sd_configs service discovery)", err)
		}
		if src.ConfigFile != "" {
			return nil, fmt.Errorf("couldn't load configuration (--config.file=%q): %w", src.ConfigFile, err)
		}
		return nil, fmt.Errorf("couldn't build configuration: %w", err)
	}
	if dir != "" {
		cfg.SetDirectory(dir)
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

	var extra []string
	extra = append(extra, src.ExtraScrapeConfigs...)
	if src.ConfigFile == "" || vllmSet {
		if job, err := endpointJob("vllm", vllm); err != nil {
			return nil, fmt.Errorf("%s: %w", envVLLM, err)
		} else if job != "" {
			extra = append(extra, job)
		}
	}
	if src.ConfigFile == "" || tgiSet {
		if job, err := endpointJob("tgi", tgi); err != nil {
			return nil, fmt.Errorf("%s: %w", envTGI, err)
		} else if job != "" {
			extra = append(extra, job)
		}
	}
	if err := addScrapeConfigs(cfg, extra); err != nil {
		return nil, err
	}
	return &Config{Prometheus: cfg, Tokenpath: ext, File: src.ConfigFile}, nil
}

func (src Sources) scrapeInterval() (time.Duration, error) {
	if src.ScrapeInterval > 0 {
		return src.ScrapeInterval, nil
	}
	v := src.Getenv(envScrapeInterval)
	if v == "" {
		return 0, nil
	}
	d, err := model.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: not a positive duration such as 15s", envScrapeInterval, v)
	}
	return time.Duration(d), nil
}

// endpoints returns the endpoints from the flag, else the environment, else
// the defaults, and whether a flag or the environment set them.
func (src Sources) endpoints(flag []string, env string, defaults []string) ([]string, bool) {
	if len(flag) > 0 {
		return flag, true
	}
	if v := src.Getenv(env); v != "" {
		var out []string
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return out, true
	}
	return defaults, false
}

// Endpoints resolves the seed's endpoint variables the way LoadConfig does,
// for the default probes.
func (src Sources) Endpoints() (vllm, tgi []string) {
	if src.Getenv == nil {
		src.Getenv = func(string) string { return "" }
	}
	vllm, vllmSet := src.endpoints(src.VLLMEndpoints, envVLLM, src.DefaultVLLM)
	tgi, tgiSet := src.endpoints(src.TGIEndpoints, envTGI, src.DefaultTGI)
	if src.ConfigFile != "" && !vllmSet {
		vllm = nil
	}
	if src.ConfigFile != "" && !tgiSet {
		tgi = nil
	}
	return vllm, tgi
}

// endpointJob writes a scrape config for the endpoints of one seed variable.
func endpointJob(job string, endpoints []string) (string, error) {
	if len(endpoints) == 0 {
		return "", nil
	}
	byScheme := map[string][]string{}
	var schemes []string
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return "", fmt.Errorf("%q is not an http(s) URL such as http://localhost:8000", e)
		}
		if _, ok := byScheme[u.Scheme]; !ok {
			schemes = append(schemes, u.Scheme)
		}
		byScheme[u.Scheme] = append(byScheme[u.Scheme], u.Host)
	}
	var b strings.Builder
	for i, s := range schemes {
		name := job
		if i > 0 {
			// One job has one scheme: the second scheme gets a job of its own.
			name = job + "-" + s
		}
		fmt.Fprintf(&b, "- job_name: %q\n  scheme: %s\n  static_configs:\n  - targets:\n", name, s)
		for _, h := range byScheme[s] {
			fmt.Fprintf(&b, "    - %q\n", h)
		}
	}
	return b.String(), nil
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

// yaml2Strict decodes with the YAML library Prometheus' config types are
// written for (their UnmarshalYAML methods fill in the defaults).
func yaml2Strict(b []byte, out any) error { return yamlv2.UnmarshalStrict(b, out) }
