// Package web is tokenpath's built-in browser UI: server-rendered templ pages
// (token path, latency, GPU, alerts, targets, explore) whose charts are drawn
// in the browser with uPlot from tokenpath's own /api/v1.
//
// The package is a client of the Prometheus HTTP API only: handlers build
// view models from promv1.API calls, and components in web/components render
// them. The JS/CSS bundle in web/static is built from web/ui and embedded.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/a-h/templ"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// staticFiles is the built bundle (web/ui → web/static), committed so that
// go build needs no Node.
//
//go:embed static
var staticFiles embed.FS

// StaticFS returns the embedded assets (app.js, app.css), rooted at static/.
func StaticFS() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "static" is a constant.
		panic(err)
	}
	return sub
}

// ContentSecurityPolicy is sent with every response of the UI. Scripts come
// only from the bundle (no inline scripts); inline styles are allowed
// because uPlot and the lifecycle bars set element widths; data fetches stay
// on the same origin.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; " +
	"form-action 'self'; frame-ancestors 'none'"

// queryTimeout bounds the API calls behind one page.
const queryTimeout = 10 * time.Second

// Options configures the UI.
type Options struct {
	// Logger receives render and API errors; nil discards them.
	Logger *slog.Logger
	// API answers from tokenpath's own /api/v1 (in-process).
	API promv1.API
	// Version is shown in the header.
	Version string
	// StorageError, when set, says why the local TSDB cannot write (storage.WriteError);
	// every page shows it in a banner while it returns an error.
	StorageError func() error
	// Engine is the central engine API reads from (`tokenpath fleet
	// --query.url`, credentials removed); "" for tokenpath's own TSDB. With an
	// engine, a rules API that is missing or empty means the rules are
	// evaluated elsewhere (vmalert, a ruler), and the alerts page says so.
	Engine string
}

// asset is one embedded file with its content hash.
type asset struct {
	body        []byte
	hash        string
	contentType string
}

// UI serves the pages and the assets. It is safe for concurrent use.
type UI struct {
	log     *slog.Logger
	api     promv1.API
	version string
	assets  map[string]asset // by name, e.g. "app.js".
	now     func() time.Time

	// storageErr is Options.StorageError; nil when there is no storage to check.
	storageErr func() error
	// engine is Options.Engine.
	engine string
}

// New returns the UI. It fails when API is nil or the embedded bundle is
// missing (a build without web/static).
func New(o Options) (*UI, error) {
	if o.API == nil {
		return nil, errors.New("web: Options.API is nil")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &UI{
		log:     log.With("component", "web"),
		api:     o.API,
		version: o.Version,
		assets:  map[string]asset{},
		now:     time.Now,
	}
	u.storageErr = o.StorageError
	u.engine = o.Engine
	for _, name := range []string{"app.js", "app.css"} {
		b, err := fs.ReadFile(StaticFS(), name)
		if err != nil {
			return nil, fmt.Errorf("web: embedded asset %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(name))
		u.assets[name] = asset{body: b, hash: hex.EncodeToString(sum[:8]), contentType: ct}
	}
	return u, nil
}

// assetURL returns the cache-busting URL of an embedded asset.
func (u *UI) assetURL(name string) string {
	return "/static/" + name + "?v=" + u.assets[name].hash
}

// ServeHTTP serves the pages at /, /latency, /gpu, /alerts, /targets and
// /explore, the assets under /static/, and a 404 page for anything else.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/static/"); ok {
		u.serveAsset(w, r, name)
		return
	}
	page, ok := u.pages()[r.URL.Path]
	if !ok {
		u.render(w, r, http.StatusNotFound, components.NotFound(components.NotFoundPage{
			Page: u.page(r, "Page not found", "", false),
			URL:  r.URL.Path,
		}))
		return
	}
	c, err := page(r)
	if err != nil {
		u.log.Error("building page", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	u.render(w, r, http.StatusOK, c)
}

// pages maps each page's path to the handler that builds its view model.
func (u *UI) pages() map[string]func(*http.Request) (templ.Component, error) {
	return map[string]func(*http.Request) (templ.Component, error){
		"/":        u.tokenPathPage,
		"/latency": u.latencyPage,
		"/gpu":     u.gpuPage,
		"/alerts":  u.alertsPage,
		"/targets": u.targetsPage,
		"/explore": u.explorePage,
	}
}

// render writes a component through a buffer, so that a render error
// becomes a 500 instead of half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		u.log.Error("rendering page", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

func (u *UI) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := u.assets[name]
	if !ok {
		u.render(w, r, http.StatusNotFound, components.NotFound(components.NotFoundPage{
			Page: u.page(r, "Page not found", "", false),
			URL:  r.URL.Path,
		}))
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", `"`+a.hash+`"`)
	// Only a URL carrying the current hash may be cached for good.
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
