package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"

	"github.com/ritwikareddykancharla/token-path-observability/config"
	"github.com/ritwikareddykancharla/token-path-observability/export"
	"github.com/ritwikareddykancharla/token-path-observability/gpu"
	"github.com/ritwikareddykancharla/token-path-observability/grafana"
	"github.com/ritwikareddykancharla/token-path-observability/rules"
	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

// subcommands are tokenpath's commands besides the server.
type subcommands struct {
	out io.Writer

	checkConfig     *kingpin.CmdClause
	checkConfigFile string
	checkRules      *kingpin.CmdClause
	checkRuleFiles  []string

	exportGPU     *kingpin.CmdClause
	exportGPUOpts export.GPUExporterOptions
	nvmlLibrary   string
	exportSimGPU  bool

	grafanaExport        *kingpin.CmdClause
	grafanaDir           string
	grafanaDatasourceURL string
	grafanaDashboards    string

	simulate      *kingpin.CmdClause
	simEngine     string
	simListen     string
	simOpts       sim.Options
	simFrontDelay time.Duration

	logConfig *promslog.Config
}

func registerSubcommands(app *kingpin.Application, logConfig *promslog.Config) *subcommands {
	s := &subcommands{out: os.Stdout, logConfig: logConfig}
	check := app.Command("check", "Check configuration and rule files, as promtool does.")
	s.checkConfig = check.Command("config", "Check a configuration file: Prometheus' loader plus the tokenpath: section.")
	s.checkConfig.Arg("file", "configuration file").Required().ExistingFileVar(&s.checkConfigFile)
	s.checkRules = check.Command("rules", "Check rule files, as promtool check rules does.")
	s.checkRules.Arg("files", "rule files").Required().ExistingFilesVar(&s.checkRuleFiles)

	exp := app.Command("export", "Run one of tokenpath's exporters on its own.")
	s.exportGPU = exp.Command("gpu", "Serve the GPU collector alone at /metrics, for a host that already runs Prometheus (a drop-in for dcgm-exporter).")
	s.exportGPU.Flag("listen", "Address to listen on.").Default(":9400").StringVar(&s.exportGPUOpts.Listen)
	s.exportGPU.Flag("dcgm-names", "Also serve dcgm-exporter's names and labels.").Default("true").BoolVar(&s.exportGPUOpts.DCGMNames)
	s.exportGPU.Flag("web.config.file", "TLS and basic auth, exporter-toolkit format.").StringVar(&s.exportGPUOpts.WebConfigFile)
	s.exportGPU.Flag("go-collectors", "Also serve the exporter's own go_* and process_* metrics.").BoolVar(&s.exportGPUOpts.GoCollectors)
	s.exportGPU.Flag("gpu.nvml-library", "Path of libnvidia-ml.so.1 (default: the dynamic loader's search path).").StringVar(&s.nvmlLibrary)
	s.exportGPU.Flag("simulate", "Serve go-nvml's simulated DGX H100 instead of the real driver (for trying it out).").BoolVar(&s.exportSimGPU)

	s.simulate = app.Command("simulate", "Run a simulated inference server: Prometheus metrics with the real server's names, types and buckets, and an OpenAI-compatible API whose timing follows the same model.")
	s.simulate.Flag("engine", "Which server to imitate: vllm, vllm-v0, tgi, sglang or llamacpp.").Default("vllm").EnumVar(&s.simEngine, "vllm", "vllm-v0", "tgi", "sglang", "llamacpp")
	s.simulate.Flag("listen", "Address to listen on.").Default("127.0.0.1:8000").StringVar(&s.simListen)
	s.simulate.Flag("seed", "Seed of the synthetic request sequence.").Default("1").Int64Var(&s.simOpts.Seed)
	s.simulate.Flag("model", "Served model name (default per engine).").StringVar(&s.simOpts.Model)
	s.simulate.Flag("arrival-rate", "Mean synthetic requests per second at load 1 (0: the default).").Float64Var(&s.simOpts.ArrivalRate)
	s.simulate.Flag("load", "Initial load multiplier (change it while running with POST /sim/load?multiplier=N).").Default("1").Float64Var(&s.simOpts.Load)
	s.simulate.Flag("front-delay", "Delay in front of the engine before a response starts, like a slow proxy (POST /sim/front_delay?d=2s).").DurationVar(&s.simFrontDelay)
	s.simulate.Flag("scenario", "Start in a scenario that makes one cause of a slow tail dominate (switch while running with POST /sim/scenario?name=NAME); overrides --load and --front-delay: "+strings.Join(sim.ScenarioNames(), ", ")+".").EnumVar(&s.simOpts.Scenario, sim.ScenarioNames()...)

	gr := app.Command("grafana", "Grafana dashboards and provisioning.")
	s.grafanaExport = gr.Command("export", "Write the provisioning tree (datasource, dashboard provider, dashboards) to a directory.")
	s.grafanaExport.Flag("dir", "Directory to write to (created if missing).").Required().StringVar(&s.grafanaDir)
	s.grafanaExport.Flag("datasource-url", "URL of tokenpath (or of a Prometheus that federates it) for the datasource.").Default("http://localhost:9090").StringVar(&s.grafanaDatasourceURL)
	s.grafanaExport.Flag("dashboards-path", "Where Grafana reads DIR/dashboards from, as Grafana sees the file system (its container with DIR/dashboards mounted there, or its Debian package with the files copied there).").Default("/var/lib/grafana/dashboards/tokenpath").StringVar(&s.grafanaDashboards)
	return s
}

func (s *subcommands) run(cmd string) error {
	switch cmd {
	case s.checkConfig.FullCommand():
		return s.runCheckConfig()
	case s.checkRules.FullCommand():
		return rules.CheckRuleFiles(s.out, s.checkRuleFiles...)
	case s.simulate.FullCommand():
		return s.runSimulate()
	case s.exportGPU.FullCommand():
		return s.runExportGPU()
	case s.grafanaExport.FullCommand():
		if err := grafana.WriteProvisioning(s.grafanaDir, s.grafanaDatasourceURL, s.grafanaDashboards); err != nil {
			return err
		}
		fmt.Fprintf(s.out, "Wrote Grafana provisioning for %s to %s\n", s.grafanaDatasourceURL, s.grafanaDir)
		fmt.Fprintf(s.out, "Grafana in a container: mount %s/provisioning on /etc/grafana/provisioning and %s/dashboards on %s\n",
			s.grafanaDir, s.grafanaDir, s.grafanaDashboards)
		return nil
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// runCheckConfig checks a configuration file with the server's own
// LoadConfig (so it rejects exactly what the server would: Prometheus'
// sections, the tokenpath: section and its probes, every rule file, and the
// endpoint variables of the environment it runs in), then reports each rule
// file as check rules does. The output follows promtool's.
func (s *subcommands) runCheckConfig() error {
	file := s.checkConfigFile
	fmt.Fprintf(s.out, "Checking %s\n", file)
	src := config.Sources{ConfigFile: file, LookupEnv: os.LookupEnv, Getenv: os.Getenv}
	cfg, err := config.Load(src, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(s.out, "  FAILED:")
		var fe *config.FileError
		if errors.As(err, &fe) {
			for _, p := range fe.Problems() {
				fmt.Fprintf(s.out, "%s: %v\n", file, p)
			}
		} else {
			fmt.Fprintln(s.out, err)
		}
		fmt.Fprintln(s.out)
		return fmt.Errorf("%s is not valid", file)
	}
	ruleFiles, err := config.RuleFiles(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "  SUCCESS: %d scrape configs, %d rule files, %d probes\n\n",
		len(cfg.Prometheus.ScrapeConfigs), len(ruleFiles), len(cfg.Tokenpath.Probes))
	if len(ruleFiles) == 0 {
		return nil
	}
	return rules.CheckRuleFiles(s.out, ruleFiles...)
}

func (s *subcommands) runExportGPU() error {
	logger := promslog.New(s.logConfig)
	o := s.exportGPUOpts
	o.Logger = logger
	o.Library = gpu.NewNVML(logger.With("component", "nvml"), s.nvmlLibrary)
	if s.exportSimGPU {
		start := time.Now()
		// A slow load cycle, so the simulated GPUs show something moving.
		o.Library = gpu.NewSimulated(func() float64 { return 0.5 + 0.45*math.Sin(time.Since(start).Seconds()/30) })
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return export.ServeGPUExporter(ctx, o)
}

func (s *subcommands) runSimulate() error {
	o := s.simOpts
	engine, err := sim.ParseEngine(s.simEngine)
	if err != nil {
		return err
	}
	o.Engine = engine
	o.FrontDelay = s.simFrontDelay
	o.Logger = promslog.New(s.logConfig)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return sim.ListenAndServe(ctx, o, s.simListen)
}
