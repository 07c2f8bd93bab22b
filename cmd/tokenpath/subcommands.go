package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/ritwikareddykancharla/token-path-observability/server"
)

// subcommands are tokenpath's commands besides the server.
type subcommands struct {
	out io.Writer

	checkConfig     *kingpin.CmdClause
	checkConfigFile string
}

func registerSubcommands(app *kingpin.Application) *subcommands {
	s := &subcommands{out: os.Stdout}
	check := app.Command("check", "Check configuration and rule files, as promtool does.")
	s.checkConfig = check.Command("config", "Check a configuration file: Prometheus' loader plus the tokenpath: section.")
	s.checkConfig.Arg("file", "configuration file").Required().ExistingFileVar(&s.checkConfigFile)
	return s
}

func (s *subcommands) run(cmd string) error {
	switch cmd {
	case s.checkConfig.FullCommand():
		return s.runCheckConfig()
	}
	return fmt.Errorf("unknown command %q", cmd)
}

func (s *subcommands) runCheckConfig() error {
	fmt.Fprintf(s.out, "Checking %s\n", s.checkConfigFile)
	cfg, err := server.LoadConfig(server.Sources{ConfigFile: s.checkConfigFile}, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(s.out, "  FAILED: %v\n", err)
		return fmt.Errorf("%s is not valid", s.checkConfigFile)
	}
	fmt.Fprintf(s.out, "  SUCCESS: %d scrape configs, %d rule files, %d probes\n",
		len(cfg.Prometheus.ScrapeConfigs), len(cfg.Prometheus.RuleFiles), len(cfg.Tokenpath.Probes))
	return nil
}
