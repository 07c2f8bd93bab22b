package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/ritwikareddykancharla/token-path-observability/rules"
	"github.com/ritwikareddykancharla/token-path-observability/server"
)

// subcommands are tokenpath's commands besides the server.
type subcommands struct {
	out io.Writer

	checkConfig     *kingpin.CmdClause
	checkConfigFile string
	checkRules      *kingpin.CmdClause
	checkRuleFiles  []string
}

func registerSubcommands(app *kingpin.Application) *subcommands {
	s := &subcommands{out: os.Stdout}
	check := app.Command("check", "Check configuration and rule files, as promtool does.")
	s.checkConfig = check.Command("config", "Check a configuration file: Prometheus' loader plus the tokenpath: section.")
	s.checkConfig.Arg("file", "configuration file").Required().ExistingFileVar(&s.checkConfigFile)
	s.checkRules = check.Command("rules", "Check rule files, as promtool check rules does.")
	s.checkRules.Arg("files", "rule files").Required().ExistingFilesVar(&s.checkRuleFiles)
	return s
}

func (s *subcommands) run(cmd string) error {
	switch cmd {
	case s.checkConfig.FullCommand():
		return s.runCheckConfig()
	case s.checkRules.FullCommand():
		return rules.CheckRuleFiles(s.out, s.checkRuleFiles...)
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
