package federate

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// point is the newest sample of one series: a float, or a histogram when h
// is set.
type point struct {
	series labels.Labels
	t      int64
	f      float64
	h      *histogram.FloatHistogram
}

func (p point) name() string { return p.series.Get(model.MetricNameLabel) }

// newestPoints selects the series of every selector over the lookback window
// ending now and returns each one's newest sample, ordered by metric name
// and then by labels so that the samples of one family are adjacent.
func (h *Handler) newestPoints(r *http.Request, selectors [][]*labels.Matcher) ([]point, error) {
	if len(selectors) == 0 {
		return nil, nil
	}
	now := h.opts.Now()
	maxt, mint := now.UnixMilli(), now.Add(-h.opts.Lookback).UnixMilli()
	q, err := h.opts.Storage.Querier(mint, maxt)
	if err != nil {
		return nil, fmt.Errorf("reading the TSDB: %w", err)
	}
	defer q.Close()

	hints := &promstorage.SelectHints{Start: mint, End: maxt}
	sets := make([]promstorage.SeriesSet, 0, len(selectors))
	for _, matchers := range selectors {
		sets = append(sets, q.Select(r.Context(), true, hints, matchers...))
	}
	// A series that two selectors both match is federated once.
	merged := promstorage.NewMergeSeriesSet(sets, 0, promstorage.ChainedSeriesMerge)

	var (
		points []point
		it     chunkenc.Iterator
	)
	for merged.Next() {
		series := merged.At()
		it = series.Iterator(it)
		p, ok, err := newestSample(it, mint, maxt)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", series.Labels(), err)
		}
		if ok {
			p.series = series.Labels()
			points = append(points, p)
		}
	}
	if err := merged.Err(); err != nil {
		return nil, fmt.Errorf("selecting series: %w", err)
	}
	if ws := merged.Warnings(); len(ws) > 0 {
		h.warnings.Add(float64(len(ws)))
		h.opts.Logger.Debug("Selecting series for federation returned warnings", "warnings", ws.AsErrors())
	}

	slices.SortFunc(points, func(a, b point) int {
		if c := strings.Compare(a.name(), b.name()); c != 0 {
			return c
		}
		return labels.Compare(a.series, b.series)
	})
	return points, nil
}

// newestSample walks a series' samples in [mint, maxt] and keeps the last
// one. ok is false when there is none, or when the last one is a stale
// marker: a series that went stale is not current, and the exposition
// formats have no way to say "stale".
func newestSample(it chunkenc.Iterator, mint, maxt int64) (p point, ok bool, err error) {
	var (
		last      chunkenc.ValueType
		histogram *histogram.FloatHistogram
	)
	for vt := it.Seek(mint); vt != chunkenc.ValNone; vt = it.Next() {
		t := it.AtT()
		if t > maxt {
			break
		}
		switch vt {
		case chunkenc.ValFloat:
			_, p.f = it.At()
		case chunkenc.ValHistogram, chunkenc.ValFloatHistogram:
			// One buffer for the whole walk; only the last one is kept.
			_, histogram = it.AtFloatHistogram(histogram)
		default:
			continue
		}
		p.t, last = t, vt
	}
	if err := it.Err(); err != nil {
		return point{}, false, err
	}
	switch last {
	case chunkenc.ValFloat:
		return p, !value.IsStaleNaN(p.f), nil
	case chunkenc.ValHistogram, chunkenc.ValFloatHistogram:
		p.h = histogram
		return p, !value.IsStaleNaN(histogram.Sum), nil
	default:
		return point{}, false, nil
	}
}
