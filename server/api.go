package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/grafana/regexp"
	"github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/route"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/promql"
	promrules "github.com/prometheus/prometheus/rules"
	promscrape "github.com/prometheus/prometheus/scrape"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/notifications"
	apiv1 "github.com/prometheus/prometheus/web/api/v1"
)

// apiPrefix is where Prometheus' v1 API is served.
const apiPrefix = "/api/v1"

// Version is what /api/v1/status/buildinfo reports.
type Version = apiv1.PrometheusVersion

// APIOptions are what Prometheus' web/api/v1 needs from the rest of
// tokenpath.
type APIOptions struct {
	Engine   promql.QueryEngine
	Storage  promstorage.SampleAndChunkQueryable
	Exemplar promstorage.ExemplarQueryable
	// Receiver takes remote-write pushes (the local TSDB).
	Receiver promstorage.AppendableV2
	Admin    apiv1.TSDBAdminStats
	DataDir  string
	Scrape   *promscrape.Manager
	Rules    *promrules.Manager
	Notifier *notifier.Manager

	Flags         map[string]string
	ListenAddress string // host:port
	ExternalURL   *url.URL
	Version       apiv1.PrometheusVersion
	Retention     string

	EnableAdmin               bool
	EnableRemoteWriteReceiver bool
	// EnableRemoteRead serves POST /api/v1/read (--web.enable-remote-read),
	// under RemoteReadSampleLimit (the same as --query.max-samples in main)
	// and RemoteReadConcurrencyLimit concurrent reads.
	EnableRemoteRead           bool
	RemoteReadSampleLimit      int
	RemoteReadConcurrencyLimit int
	// MaxQueryLength (--query.max-length) refuses longer PromQL and match[]
	// selectors before they are parsed; 0 turns the check off.
	MaxQueryLength int
	// MaxConcurrency (--query.max-concurrency) also bounds the requests that
	// parse PromQL at once, waiting at most QueryTimeout for a slot.
	MaxConcurrency int
	// CORSOrigin (--web.cors.origin) is the anchored regular expression of
	// the origins the API's answers may be read from; nil means ".*", as in
	// Prometheus. It does not let another site change state: see
	// sameOriginMiddleware.
	CORSOrigin    *regexp.Regexp
	LookbackDelta time.Duration
	QueryTimeout  time.Duration
}

// runtimeState is what /status/runtimeinfo and /status/config report.
type runtimeState struct {
	mtx            sync.RWMutex
	start          time.Time
	cfg            *promconfig.Config
	reloadSuccess  bool
	lastConfigTime time.Time
}

func (r *runtimeState) config() promconfig.Config {
	r.mtx.RLock()
	defer r.mtx.RUnlock()
	if r.cfg == nil {
		return promconfig.Config{}
	}
	return *r.cfg
}

func (r *runtimeState) setConfig(cfg *promconfig.Config, ok bool) {
	r.mtx.Lock()
	defer r.mtx.Unlock()
	r.reloadSuccess = ok
	if ok {
		r.cfg = cfg
		r.lastConfigTime = time.Now()
	}
}

func (r *runtimeState) info(retention string) (apiv1.RuntimeInfo, error) {
	r.mtx.RLock()
	defer r.mtx.RUnlock()
	cwd, _ := os.Getwd()
	host, _ := os.Hostname()
	return apiv1.RuntimeInfo{
		StartTime:           r.start,
		CWD:                 cwd,
		Hostname:            host,
		ServerTime:          time.Now().UTC(),
		ReloadConfigSuccess: r.reloadSuccess,
		LastConfigTime:      r.lastConfigTime,
		GoroutineCount:      runtime.NumGoroutine(),
		GOMAXPROCS:          runtime.GOMAXPROCS(0),
		GOMEMLIMIT:          debug.SetMemoryLimit(-1),
		GOGC:                os.Getenv("GOGC"),
		GODEBUG:             os.Getenv("GODEBUG"),
		StorageRetention:    retention,
	}, nil
}

// buildAPI wraps Prometheus' own v1 API, whose constructor takes 44
// positional arguments; this is the one place that calls it. The returned
// handler serves paths under /api/v1.
func buildAPI(o APIOptions, state *runtimeState, ready func(http.HandlerFunc) http.HandlerFunc, reg *prometheus.Registry, s *Server) http.Handler {
	host := o.ExternalURL.Host
	notes := notifications.NewNotifications(16, reg)
	version := o.Version
	cors := o.CORSOrigin
	if cors == nil {
		cors = regexp.MustCompile("^(?:.*)$")
	}
	// Prometheus' remote-write handler logs every rejected request at ERROR:
	// rate-limit the API's lines so a client cannot flood the log.
	suppressed := prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "tokenpath_log_lines_suppressed_total",
		Help:        "Log lines held back by rate limiting (repeats of one message within 10s).",
		ConstLabels: prometheus.Labels{"component": "api"},
	})
	reg.MustRegister(suppressed)
	apiLogger := slog.New(newRateLimitedHandler(s.logger.Handler(), logRateLimit, suppressed)).With("component", "api")
	api := apiv1.NewAPI(
		o.Engine,
		o.Storage,
		o.Receiver,
		o.Exemplar,
		func(context.Context) apiv1.ScrapePoolsRetriever { return o.Scrape },
		func(context.Context) apiv1.TargetRetriever { return o.Scrape },
		func(context.Context) apiv1.AlertmanagerRetriever { return o.Notifier },
		state.config,
		o.Flags,
		apiv1.GlobalURLOptions{ListenAddress: o.ListenAddress, Host: host, Scheme: o.ExternalURL.Scheme},
		ready,
		o.Admin,
		o.DataDir,
		o.EnableAdmin,
		false, // search API (--enable-feature=...; off as in Prometheus)
		0,     // its result limit, unused with search off
		apiLogger,
		func(context.Context) apiv1.RulesRetriever { return o.Rules },
		o.RemoteReadSampleLimit,
		max(o.RemoteReadConcurrencyLimit, 1),
		remoteReadMaxBytesInFrame,
		false, // agent mode
		cors,
		func() (apiv1.RuntimeInfo, error) { return state.info(o.Retention) },
		&version,
		notes.Get,
		notes.Sub,
		reg,
		reg,
		nil,
		o.EnableRemoteWriteReceiver,
		remote.MessageTypes{remote.WriteV1MessageType, remote.WriteV2MessageType},
		false, false, false, // OTLP
		o.LookbackDelta,
		false, // type and unit labels
		false, // append metadata
		nil,   // override error code: Prometheus' own codes
		features.NewRegistry(),
		apiv1.OpenAPIOptions{},
		nil,   // PromQL parser: the API's default one
		false, // query cost statistics, off as in Prometheus
		o.QueryTimeout,
	)
	r := route.New().WithInstrumentation(apiRouteName).WithPrefix(apiPrefix)
	api.Register(r)
	return limitQueryLength(o.MaxQueryLength, s.gate.wrap(gateRemoteRead(o.EnableRemoteRead, checkWriteContentType(o.EnableRemoteWriteReceiver, r))))
}

// remoteReadMaxBytesInFrame mirrors Prometheus' --storage.remote.read-max-bytes-in-frame default.
const remoteReadMaxBytesInFrame = 1048576

// checkWriteContentType answers 415 to a remote write whose Content-Type is
// not one of remote write's protobuf messages. Prometheus' handler checks it
// only after decoding the snappy body, so a JSON or text body got 400 with a
// snappy error instead.
func checkWriteContentType(enabled bool, next http.Handler) http.Handler {
	if !enabled {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == apiPrefix+"/write" && r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "" {
				if _, err := remote.ParseProtoMsg(ct); err != nil {
					http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// gateRemoteRead answers POST /api/v1/read only when remote read is on: it
// hands out raw samples, so it is opt-in (Prometheus serves it always).
func gateRemoteRead(enabled bool, next http.Handler) http.Handler {
	if enabled {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == apiPrefix+"/read" {
			http.Error(w, "remote read needs to be enabled with --web.enable-remote-read", http.StatusNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}
