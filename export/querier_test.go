package export

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/stretchr/testify/require"
)

// TestStorageQuerierMatchesAPI: the exporters read through a PromQL engine
// over a storage (tokenpath's in-process path) expose exactly what they
// expose when the same data is read through Prometheus' HTTP API. The
// storage here is the test Prometheus itself, read with Prometheus' own
// remote-read client, so both paths see the same samples.
func TestStorageQuerierMatchesAPI(t *testing.T) {
	env := startExportTestEnv(t)
	u, err := url.Parse("http://" + env.addr + "/api/v1/read")
	require.NoError(t, err)
	rc, err := remote.NewReadClient("export-test", &remote.ClientConfig{
		URL: &config_util.URL{URL: u}, Timeout: model.Duration(10 * time.Second), ChunkedReadLimit: 50 << 20,
	})
	require.NoError(t, err)
	storage := remote.NewSampleAndChunkQueryableClient(rc, labels.EmptyLabels(), nil, true, func() (int64, error) { return 0, nil })
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})

	viaAPI, err := NewHandler(Options{Querier: APIQuerier(env.api, nil)})
	require.NoError(t, err)
	viaStorage, err := NewHandler(Options{Querier: StorageQuerier(engine, storage)})
	require.NoError(t, err)
	for _, path := range []string{PathVLLM, PathTGI, PathGPU} {
		apiStatus, apiBody := scrape(t, viaAPI, path)
		require.Equal(t, http.StatusOK, apiStatus, string(apiBody))
		storageStatus, storageBody := scrape(t, viaStorage, path)
		require.Equal(t, http.StatusOK, storageStatus, string(storageBody))
		require.NotEmpty(t, apiBody)
		require.Equal(t, string(apiBody), string(storageBody), path)
	}
}
