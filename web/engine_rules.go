package web

import (
	"errors"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// engineLacks says whether err is a central engine's way of saying it has
// no such API: a 4xx (VictoriaMetrics answers 400 "unsupported path" for
// paths it does not serve, others 404), bad data, or a body that is not the
// Prometheus API's. Rules and alerts then live elsewhere (vmalert, a ruler),
// which the alerts page says instead of showing an error. Timeouts, 5xx and
// unreachable engines stay errors. Always false for tokenpath's own API,
// which has both.
func (u *UI) engineLacks(err error) bool {
	if u.engine == "" || err == nil {
		return false
	}
	var e *promv1.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Type {
	case promv1.ErrClient, promv1.ErrBadData, promv1.ErrBadResponse:
		return true
	}
	return false
}

// engineAnswer is what the engine said, for the notice: its body when it
// sent one, else the error.
func engineAnswer(err error) string {
	var e *promv1.Error
	msg := err.Error()
	if errors.As(err, &e) && e.Detail != "" {
		msg = e.Msg + ": " + e.Detail
	}
	const limit = 300
	if len(msg) > limit {
		msg = msg[:limit] + "…"
	}
	return msg
}
