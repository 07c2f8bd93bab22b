package scrape

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// ServerLabel is the target label that names the inference server kind.
const ServerLabel = "server"

// Server kinds.
const (
	ServerVLLM     = "vllm"
	ServerTGI      = "tgi"
	ServerSGLang   = "sglang"
	ServerLlamaCPP = "llamacpp"
	ServerOther    = "other"
)

// DetectServer names the inference server that exposes the given metric
// names: the first name with a known server prefix decides. Anything else is
// "other".
func DetectServer(metricNames []string) string {
	for _, name := range metricNames {
		switch {
		case strings.HasPrefix(name, "vllm:"):
			return ServerVLLM
		case strings.HasPrefix(name, "tgi_"):
			return ServerTGI
		case strings.HasPrefix(name, "sglang:"):
			return ServerSGLang
		case strings.HasPrefix(name, "llamacpp:"):
			return ServerLlamaCPP
		}
	}
	return ServerOther
}

// detectRetryInterval is how often a target whose exposition could not be
// read is tried again.
const detectRetryInterval = 15 * time.Second

// detectWait bounds how long new targets wait for their detection before
// they are scraped.
const detectWait = 5 * time.Second

// maxDetectBody bounds what detection reads of an exposition: the server's
// own metrics come first in every known server, well inside it.
const maxDetectBody = 4 << 20

// detector sits between discovery and the scrape manager. It adds the server
// label to every target that has none, fetching the target's exposition once
// to decide. Targets are forwarded at once; when a detection finishes, the
// last target sets are sent again with the new label.
type detector struct {
	logger *slog.Logger
	client *http.Client
	out    chan map[string][]*targetgroup.Group

	mtx     sync.Mutex
	configs map[string]*promconfig.ScrapeConfig
	kinds   map[string]string // metrics URL → kind
	pending map[string]bool
	last    map[string][]*targetgroup.Group
	changed chan struct{}
}

func newDetector(logger *slog.Logger, client *http.Client) *detector {
	return &detector{
		logger:  logger,
		client:  client,
		out:     make(chan map[string][]*targetgroup.Group),
		configs: map[string]*promconfig.ScrapeConfig{},
		kinds:   map[string]string{},
		pending: map[string]bool{},
		last:    map[string][]*targetgroup.Group{},
		changed: make(chan struct{}, 1),
	}
}

func (d *detector) applyConfig(scfgs []*promconfig.ScrapeConfig) {
	d.mtx.Lock()
	defer d.mtx.Unlock()
	d.configs = make(map[string]*promconfig.ScrapeConfig, len(scfgs))
	for _, sc := range scfgs {
		d.configs[sc.JobName] = sc
	}
}

func (d *detector) run(ctx context.Context, in <-chan map[string][]*targetgroup.Group) {
	retry := time.NewTicker(detectRetryInterval)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case tsets := <-in:
			d.mtx.Lock()
			maps.Copy(d.last, tsets)
			d.mtx.Unlock()
		case <-d.changed:
		case <-retry.C:
			if !d.hasUndetected() {
				// Nothing to retry: resending the same target sets would
				// only make the scrape manager sync for nothing.
				continue
			}
		}
		annotated, work := d.annotate(ctx)
		if len(work) > 0 {
			// Detect new targets before handing them over: the scrape
			// manager applies the first target set at once but later ones
			// only every few seconds, so a target passed on unlabelled would
			// be scraped without its server label first and then start new
			// series. The wait is bounded; a target that does not answer in
			// time is passed on and detected in the background.
			waitCtx, cancel := context.WithTimeout(ctx, detectWait)
			var wg sync.WaitGroup
			for _, w := range work {
				wg.Go(func() { d.detect(waitCtx, w) })
			}
			wg.Wait()
			cancel()
			annotated, work = d.annotate(ctx)
			for _, w := range work {
				go d.detect(ctx, w)
			}
		}
		select {
		case d.out <- annotated:
		case <-ctx.Done():
			return
		}
	}
}

// hasUndetected reports whether a target lacks its server label with no
// detection running for it.
func (d *detector) hasUndetected() bool {
	d.mtx.Lock()
	defer d.mtx.Unlock()
	for job, groups := range d.last {
		for _, g := range groups {
			if g == nil {
				continue
			}
			for _, t := range g.Targets {
				u := detectionURL(d.configs[job], g.Labels, t)
				if _, known := d.kinds[u]; !known && u != "" && !d.pending[u] {
					return true
				}
			}
		}
	}
	return false
}

// detectionURL is the metrics URL of a target whose server kind comes from
// detection, or "" when the target or its group already names the server
// (or its job is unknown).
func detectionURL(cfg *promconfig.ScrapeConfig, group, target model.LabelSet) string {
	if _, ok := target[ServerLabel]; ok || cfg == nil || group[ServerLabel] != "" {
		return ""
	}
	return metricsURL(cfg, group, target)
}

type detectJob struct {
	url string
	cfg *promconfig.ScrapeConfig
}

// annotate copies the last target sets, adding the server label where it is
// known, and lists the targets that still need a detection.
func (d *detector) annotate(ctx context.Context) (map[string][]*targetgroup.Group, []detectJob) {
	d.mtx.Lock()
	defer d.mtx.Unlock()
	var work []detectJob
	res := make(map[string][]*targetgroup.Group, len(d.last))
	for job, groups := range d.last {
		cfg := d.configs[job]
		copies := make([]*targetgroup.Group, 0, len(groups))
		for _, g := range groups {
			if g == nil {
				copies = append(copies, g)
				continue
			}
			c := &targetgroup.Group{Source: g.Source, Labels: g.Labels.Clone(), Targets: make([]model.LabelSet, 0, len(g.Targets))}
			for _, t := range g.Targets {
				t = t.Clone()
				if u := detectionURL(cfg, g.Labels, t); u != "" {
					if kind, ok := d.kinds[u]; ok {
						t[ServerLabel] = model.LabelValue(kind)
					} else if !d.pending[u] && ctx.Err() == nil {
						d.pending[u] = true
						work = append(work, detectJob{url: u, cfg: cfg})
					}
				}
				c.Targets = append(c.Targets, t)
			}
			copies = append(copies, c)
		}
		res[job] = copies
	}
	return res, work
}

func metricsURL(cfg *promconfig.ScrapeConfig, group, target model.LabelSet) string {
	get := func(name model.LabelName, def string) string {
		if v, ok := target[name]; ok {
			return string(v)
		}
		if v, ok := group[name]; ok {
			return string(v)
		}
		return def
	}
	addr := get(model.AddressLabel, "")
	if addr == "" {
		return ""
	}
	u := url.URL{
		Scheme: get(model.SchemeLabel, cfg.Scheme),
		Host:   addr,
		Path:   get(model.MetricsPathLabel, cfg.MetricsPath),
	}
	return u.String()
}

func (d *detector) detect(ctx context.Context, j detectJob) {
	kind, err := d.fetchKind(ctx, j)
	d.mtx.Lock()
	delete(d.pending, j.url)
	if err == nil {
		d.kinds[j.url] = kind
	}
	d.mtx.Unlock()
	if err != nil {
		d.logger.Debug("Server detection failed; will retry", "url", j.url, "err", err)
		return
	}
	d.logger.Info("Detected server kind", "url", j.url, "server", kind)
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

func (d *detector) fetchKind(ctx context.Context, j detectJob) (string, error) {
	client := d.client
	if client == nil {
		c, err := config_util.NewClientFromConfig(j.cfg.HTTPClientConfig, j.cfg.JobName)
		if err != nil {
			return "", fmt.Errorf("building client for job %q: %w", j.cfg.JobName, err)
		}
		client = c
	}
	timeout := time.Duration(j.cfg.ScrapeTimeout)
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, http.NoBody)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer func() {
		// Drain (bounded) before closing, so the target does not see a
		// broken pipe because detection stopped reading early.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDetectBody))
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	return kindFromExposition(resp.Body), nil
}

// kindFromExposition reads metric names from a text exposition (at most
// maxDetectBody bytes of it) until one names a known server, and returns
// that server, or "other" when none does. Anything that is not a sample
// line — comments, blank lines, a line too long to be one — is skipped.
func kindFromExposition(r io.Reader) string {
	var names []string
	sc := bufio.NewScanner(io.LimitReader(r, maxDetectBody))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		names = append(names, name)
		if kind := DetectServer(names[len(names)-1:]); kind != ServerOther {
			return kind
		}
	}
	return DetectServer(names)
}
