package export

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promstorage "github.com/prometheus/prometheus/storage"

	"github.com/ritwikareddykancharla/token-path-observability/internal/apiquery"
)

// Querier answers the exporters' instant queries with a vector of float
// samples.
type Querier interface {
	Query(ctx context.Context, expr string, at time.Time) (model.Vector, error)
}

// StorageQuerier evaluates the queries with a PromQL engine over a storage:
// how tokenpath serves its own /export/*, straight from its TSDB, without
// encoding the answer to JSON and decoding it again.
func StorageQuerier(engine promql.QueryEngine, storage promstorage.Queryable) Querier {
	return storageQuerier{engine: engine, storage: storage}
}

type storageQuerier struct {
	engine  promql.QueryEngine
	storage promstorage.Queryable
}

func (s storageQuerier) Query(ctx context.Context, expr string, at time.Time) (model.Vector, error) {
	q, err := s.engine.NewInstantQuery(ctx, s.storage, nil, expr, at)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, res.Err)
	}
	vec, err := res.Vector()
	if err != nil {
		return nil, fmt.Errorf("query %q returned %s, want a vector", expr, res.Value.Type())
	}
	out := make(model.Vector, 0, len(vec))
	for _, s := range vec {
		if s.H != nil {
			continue // The seed's names are classic families: floats only.
		}
		m := make(model.Metric, s.Metric.Len())
		s.Metric.Range(func(l labels.Label) { m[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
		out = append(out, &model.Sample{Metric: m, Value: model.SampleValue(s.F), Timestamp: model.Time(s.T)})
	}
	return out, nil
}

// APIQuerier sends the queries to a Prometheus HTTP API: any Prometheus that
// stores the same series (the exporters' tests use a real one).
func APIQuerier(api promv1.API, logger *slog.Logger) Querier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return apiQuerier{api: api, logger: logger}
}

type apiQuerier struct {
	api    promv1.API
	logger *slog.Logger
}

func (a apiQuerier) Query(ctx context.Context, expr string, at time.Time) (model.Vector, error) {
	return apiquery.Vector(ctx, a.api, a.logger, expr, at)
}
