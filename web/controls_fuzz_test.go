package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// FuzzControls feeds the pages' URL parsing arbitrary query strings. The
// controls it keeps are always ones the picker offers (or a whole custom
// range), and a link built from them reproduces them exactly.
func FuzzControls(f *testing.F) {
	for _, s := range []string{
		"", "range=7d&refresh=30s", "range=custom&from=2026-11-27T10:00&to=2026-11-27T12:00",
		"range=custom&from=x", "model=a%22b&instance=h:1", "range=%ff&model=%00", "a=1;b=2&&=&range",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/", http.NoBody)
		r.URL.RawQuery = rawQuery
		c := controls(r)
		if c.Range == "custom" {
			if c.From == "" || c.To == "" {
				t.Fatalf("half a custom range kept: %+v", c)
			}
		} else if !slices.Contains(components.RangeOptions(), c.Range) {
			t.Fatalf("range %q is not offered", c.Range)
		}
		if !slices.Contains(components.RefreshOptions(), c.Refresh) {
			t.Fatalf("refresh %q is not offered", c.Refresh)
		}
		link, err := url.Parse(c.Link("/", ""))
		if err != nil {
			t.Fatalf("link %q: %v", c.Link("/", ""), err)
		}
		r2 := httptest.NewRequest(http.MethodGet, "/", http.NoBody)
		r2.URL.RawQuery = link.RawQuery
		if again := controls(r2); !reflect.DeepEqual(again, c) {
			t.Fatalf("the link does not reproduce the view:\n%+v\n%+v", c, again)
		}
	})
}

// FuzzFilterSelector feeds the host, model and instance filters arbitrary values:
// the PromQL the pages build from them always parses, and selects exactly
// the value chosen — no injection into the query, no regex surprises.
func FuzzFilterSelector(f *testing.F) {
	for _, s := range [][2]string{
		{"meta-llama/Llama-3.1-8B-Instruct", "127.0.0.1:8000"},
		{`a"b`, `c\d`},
		{".*", "(x|y)"},
		{"", ""},
		{"line\nbreak", "tab\t"},
		{"}", "{"},
	} {
		f.Add(s[0], s[1])
	}
	p := parser.NewParser(parser.Options{})
	f.Fuzz(func(t *testing.T, model, instance string) {
		if !utf8.ValidString(model) || !utf8.ValidString(instance) {
			return // label values are UTF-8; the URL decoder yields nothing else that matters
		}
		// The host filter is escaped as the model's is: it takes the model's
		// value here, so the seed corpus (model, instance) stays valid.
		sel := `{__name__="up",` + serverSelector(model, model, instance) + `}`
		matchers, err := p.ParseMetricSelector(sel)
		if err != nil {
			t.Fatalf("filters %q, %q give a selector that does not parse: %s: %v", model, instance, sel, err)
		}
		for _, m := range matchers {
			var want string
			switch m.Name {
			case "host", "model":
				want = model
			case "instance":
				want = instance
			default:
				continue
			}
			if !m.Matches(want) {
				t.Fatalf("%s does not match its own value %q", m, want)
			}
			if want != "" && m.Matches(want+"x") {
				t.Fatalf("%s matches more than %q", m, want)
			}
		}
	})
}
