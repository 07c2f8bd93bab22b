package rules

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/notifier"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/stretchr/testify/require"
)

func TestExploreLink(t *testing.T) {
	const expr = `up{job="vllm"} == 0`
	cases := []struct {
		external, want string
	}{
		{"http://127.0.0.1:9090/", "http://127.0.0.1:9090/explore?expr=up%7Bjob%3D%22vllm%22%7D+%3D%3D+0&range=1h"},
		{"http://127.0.0.1:9090", "http://127.0.0.1:9090/explore?expr=up%7Bjob%3D%22vllm%22%7D+%3D%3D+0&range=1h"},
		{"https://edge-01.example/tokenpath/", "https://edge-01.example/tokenpath/explore?expr=up%7Bjob%3D%22vllm%22%7D+%3D%3D+0&range=1h"},
		{"https://edge-01.example/tokenpath", "https://edge-01.example/tokenpath/explore?expr=up%7Bjob%3D%22vllm%22%7D+%3D%3D+0&range=1h"},
	}
	for _, tc := range cases {
		t.Run(tc.external, func(t *testing.T) {
			u, err := url.Parse(tc.external)
			require.NoError(t, err)
			link := ExploreLink(u, expr)
			require.Equal(t, tc.want, link)
			back, err := url.Parse(link)
			require.NoError(t, err)
			require.Equal(t, expr, back.Query().Get("expr"), "the expression survives the round trip")
		})
	}
}

// recordingSender keeps what the rule manager hands to the notifier.
type recordingSender struct{ got []*notifier.Alert }

func (r *recordingSender) Send(alerts ...*notifier.Alert) { r.got = append(r.got, alerts...) }

func TestNotifyLinksAlertsToExplore(t *testing.T) {
	var sent recordingSender
	external, err := url.Parse("http://127.0.0.1:9090/")
	require.NoError(t, err)
	notify := notifyWithExploreLinks(&sent, external)

	fired := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	notify(context.Background(), `up == 0`,
		&promrules.Alert{
			Labels:     labels.FromStrings("alertname", "InferenceTargetDown", "instance", "a:8000"),
			FiredAt:    fired,
			ValidUntil: fired.Add(4 * time.Minute),
		},
		&promrules.Alert{
			Labels:     labels.FromStrings("alertname", "InferenceTargetDown", "instance", "b:8000"),
			FiredAt:    fired,
			ResolvedAt: fired.Add(time.Minute),
		},
	)
	require.Len(t, sent.got, 2)
	for _, a := range sent.got {
		require.Equal(t, "http://127.0.0.1:9090/explore?expr=up+%3D%3D+0&range=1h", a.GeneratorURL)
		require.Equal(t, fired, a.StartsAt)
	}
	require.Equal(t, fired.Add(4*time.Minute), sent.got[0].EndsAt, "a firing alert ends when it stops being resent")
	require.Equal(t, fired.Add(time.Minute), sent.got[1].EndsAt, "a resolved alert ends when it resolved")
}
