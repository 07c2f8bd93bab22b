package web

import (
	"net"

	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// probesByServer holds the probe's TTFT quantiles per probed server: the
// probe rules turn the host:port of a probe's target URL into `instance`,
// the same label the scraped server's series carry. Rows find their probe
// by that instance, never by model name alone: two replicas of one model
// are two servers with two sets of probe numbers.
// The key starts with the host (the external label): a probe on one box
// never joins a row of another box that serves the same instance address.
type probesByServer map[string]map[string]*components.Quantiles // host + server key → model → quantiles

// at returns the quantiles of the probe of model at instance on host,
// creating them.
func (p probesByServer) at(host, instance, model string) *components.Quantiles {
	k := host + " " + serverKey(instance)
	if p[k] == nil {
		p[k] = map[string]*components.Quantiles{}
	}
	if p[k][model] == nil {
		p[k][model] = &components.Quantiles{}
	}
	return p[k][model]
}

// of returns the probe numbers of row's server: the probe of the row's
// model at the row's instance, or, where one side has no model name (TGI
// and llama.cpp without a `model` target label), the only probe at that
// instance. Nil when no probe reached this server.
func (p probesByServer) of(row *components.ServerRow) *components.Quantiles {
	byModel := p[row.Host+" "+serverKey(row.Instance)]
	if q := byModel[row.Model]; q != nil {
		return q
	}
	if len(byModel) != 1 {
		return nil
	}
	for model, q := range byModel {
		if model == "" || row.Model == "" {
			return q
		}
	}
	return nil
}

// serverKey folds the loopback spellings of an instance's host into one,
// so that a probe of http://localhost:8000 finds the server scraped as
// 127.0.0.1:8000 (the rules' `host` label folds them the same way). The
// port stays: it is what tells replicas on one box apart.
func serverKey(instance string) string {
	host, port, err := net.SplitHostPort(instance)
	if err != nil {
		return instance
	}
	switch host {
	case "localhost", "127.0.0.1", "::1":
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
