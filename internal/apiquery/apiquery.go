// Package apiquery runs an instant query through a Prometheus HTTP API client
// and requires a vector: what the UI's pages (web) and the exporters'
// APIQuerier (export) both read. It lives under internal/ because neither of
// those packages imports the other, and export would bring gpu into web.
package apiquery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Vector evaluates expr at at through api. The API's warnings (e.g. a
// partial answer) are logged at debug level, not returned: the callers show
// what they got. An answer that is not a vector is an error, as are the
// API's errors; both name the query.
func Vector(ctx context.Context, api promv1.API, logger *slog.Logger, expr string, at time.Time) (model.Vector, error) {
	v, warnings, _, err := api.Query(ctx, expr, at)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	if len(warnings) > 0 {
		logger.Debug("Query returned warnings", "query", expr, "warnings", warnings)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %q returned %s, want a vector", expr, v.Type())
	}
	return vec, nil
}
