package rules

import (
	"context"
	"net/url"

	"github.com/prometheus/prometheus/notifier"
	promrules "github.com/prometheus/prometheus/rules"
)

// exploreRange is the range an alert's link opens the Explore page with:
// wide enough to show the condition building up before it fired.
const exploreRange = "1h"

// ExploreLink is the generatorURL of an alert: tokenpath's own Explore page
// with the alert's expression, under the external URL (a path prefix of a
// reverse proxy in front of tokenpath is kept, and no "//" appears).
func ExploreLink(external *url.URL, expr string) string {
	u := external.JoinPath("explore")
	u.RawQuery = url.Values{"expr": {expr}, "range": {exploreRange}}.Encode()
	u.Fragment = ""
	return u.String()
}

// notifyWithExploreLinks is the rule manager's NotifyFunc. Prometheus'
// SendAlerts turns rule alerts into notifier alerts (start, end, labels)
// but links them to Prometheus' /graph page, which tokenpath does not serve;
// the alerts it produces are re-linked to the Explore page before they are
// queued for Alertmanager.
func notifyWithExploreLinks(n promrules.Sender, external *url.URL) promrules.NotifyFunc {
	return func(ctx context.Context, expr string, alerts ...*promrules.Alert) {
		link := ExploreLink(external, expr)
		relink := senderFunc(func(as ...*notifier.Alert) {
			for _, a := range as {
				a.GeneratorURL = link
			}
			n.Send(as...)
		})
		promrules.SendAlerts(relink, "")(ctx, expr, alerts...)
	}
}

// senderFunc adapts a function to promrules.Sender.
type senderFunc func(alerts ...*notifier.Alert)

func (f senderFunc) Send(alerts ...*notifier.Alert) { f(alerts...) }
