package main

import (
	"fmt"
	"net"
	"strconv"

	"github.com/alecthomas/kingpin/v2"
	"github.com/grafana/regexp"

	"github.com/ritwikareddykancharla/token-path-observability/server"
)

// securityFlags are the flags that open or bound what the HTTP side exposes.
// Names follow Prometheus' where it has the flag.
type securityFlags struct {
	enablePprof      bool
	enableRemoteRead bool
	maxQueryLength   int
	corsOrigin       string
}

func (s *securityFlags) register(cmd *kingpin.CmdClause) {
	cmd.Flag("web.enable-pprof", "Serve Go's profiler at /debug/pprof (behind --web.config.file's auth). Off by default: a heap profile can hold probe prompts and answers.").BoolVar(&s.enablePprof)
	cmd.Flag("web.enable-remote-read", "Serve remote read at /api/v1/read, under --query.max-samples and --query.max-concurrency.").BoolVar(&s.enableRemoteRead)
	cmd.Flag("query.max-length", "Longest PromQL expression or match[] selector accepted, in bytes, checked before parsing (parsing time grows with the square of the length); 0 means no limit.").Default(strconv.Itoa(server.DefaultMaxQueryLength)).IntVar(&s.maxQueryLength)
	cmd.Flag("web.cors.origin", `Regex for CORS origin. It is fully anchored. Example: 'https?://(domain1|domain2)\.com'. State-changing requests are accepted from tokenpath's own origin only, whatever this says.`).Default(".*").StringVar(&s.corsOrigin)
}

// cors compiles --web.cors.origin the way Prometheus does.
func (s *securityFlags) cors() (*regexp.Regexp, error) {
	re, err := regexp.Compile("^(?:" + s.corsOrigin + ")$")
	if err != nil {
		return nil, fmt.Errorf("--web.cors.origin=%q: %w", s.corsOrigin, err)
	}
	return re, nil
}

// sameHost returns host:port on the host of listenAddress, so that a second
// port (GRAFANA_PORT) is bound no wider than the main one.
func sameHost(listenAddress, port string) (string, error) {
	host, _, err := net.SplitHostPort(listenAddress)
	if err != nil {
		return "", fmt.Errorf("--web.listen-address=%q: %w", listenAddress, err)
	}
	return net.JoinHostPort(host, port), nil
}
