package apiquery_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/apiquery"
	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestVector asks a real Prometheus: a vector comes back as it is, a scalar
// and a query it cannot parse are errors that name the query.
func TestVector(t *testing.T) {
	api := testbin.StartPrometheus(t, testbin.PrometheusOptions{}).API()
	logger := slog.New(slog.DiscardHandler)
	at := time.Now()

	vec, err := apiquery.Vector(t.Context(), api, logger, `label_replace(vector(2.5), "a", "b", "", "")`, at)
	require.NoError(t, err)
	require.Len(t, vec, 1)
	require.Equal(t, model.SampleValue(2.5), vec[0].Value)
	require.Equal(t, model.Metric{"a": "b"}, vec[0].Metric)

	_, err = apiquery.Vector(t.Context(), api, logger, "scalar(vector(1))", at)
	require.EqualError(t, err, `query "scalar(vector(1))" returned scalar, want a vector`)

	_, err = apiquery.Vector(t.Context(), api, logger, "sum(", at)
	require.ErrorContains(t, err, `query "sum(": bad_data:`)
}
