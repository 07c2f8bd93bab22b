package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

// demoCycleName is --demo.scenario's value that cycles through every scenario.
const demoCycleName = "cycle"

// How long the demo's cycle gives each cause, and the steady turn between two causes: six
// causes × (90 s + 30 s) = 12 minutes, long enough for a 1-minute rate window to fill and
// the diagnosis to change, short enough that a first look sees several causes. The engine
// restart is diagnosed for the 10 minutes after it (the restart window), so it comes once
// an hour, after four cycles, followed by demoAfterRestart of steady load. All are
// multiples of the backfill's 30 s scrape, which replays whole hours.
const (
	demoCauseTurn    = 90 * time.Second
	demoSteadyTurn   = 30 * time.Second
	demoCycles       = 4
	demoAfterRestart = 10*time.Minute + 30*time.Second
	demoRestart      = "engine_restart"
	// demoAlertFor is the built-in alerts' `for` under --demo unless --alert.for is set.
	demoAlertFor = time.Minute
)

// demoFlags are --demo's own flags.
type demoFlags struct {
	scenario string
	backfill time.Duration
}

func (f *demoFlags) register(cmd *kingpin.CmdClause) {
	cmd.Flag("demo.scenario", "With --demo: "+demoCycleName+" runs every simulator scenario in turn, steady between two (a cycle of the six causes takes 12 minutes, so alerts fire and resolve and the diagnosis changes; an engine restart ends every fourth cycle, once an hour); a scenario name pins the simulated servers to it: "+strings.Join(sim.ScenarioNames(), ", ")+".").
		Default(demoCycleName).Envar("TOKENPATH_DEMO_SCENARIO").StringVar(&f.scenario)
	cmd.Flag("demo.backfill", "With --demo: before serving, write this much simulated history (the same simulators and scenario schedule, on a simulated clock) into an empty TSDB, so every range shows data at once; 0 turns it off.").
		Default("24h").DurationVar(&f.backfill)
}

// demoTurn is one scenario of the demo's cycle and how long it lasts.
type demoTurn struct {
	scenario string
	length   time.Duration
}

// demoSchedule says which scenario the demo's simulators run at any time: one scenario
// pinned, or the cycle. The cycle is anchored at the Unix epoch, so the live simulators and
// the backfilled history agree on which scenario ran when.
type demoSchedule struct {
	turns []demoTurn
	total time.Duration
}

func newDemoSchedule(pinned string) (demoSchedule, error) {
	if pinned != "" && pinned != demoCycleName {
		if _, err := sim.LookupScenario(pinned); err != nil {
			return demoSchedule{}, fmt.Errorf("--demo.scenario (or TOKENPATH_DEMO_SCENARIO): %w, or %s", err, demoCycleName)
		}
		return demoSchedule{turns: []demoTurn{{pinned, time.Hour}}, total: time.Hour}, nil
	}
	var cycle []demoTurn
	for _, sc := range sim.Scenarios() {
		if sc.Cause == "none" || sc.Name == demoRestart {
			continue
		}
		cycle = append(cycle, demoTurn{"steady", demoSteadyTurn}, demoTurn{sc.Name, demoCauseTurn})
	}
	var s demoSchedule
	for range demoCycles {
		s.turns = append(s.turns, cycle...)
	}
	s.turns = append(s.turns, demoTurn{"steady", demoSteadyTurn}, demoTurn{demoRestart, demoCauseTurn}, demoTurn{"steady", demoAfterRestart})
	for _, t := range s.turns {
		s.total += t.length
	}
	return s, nil
}

// at returns the scenario that runs at t.
func (s demoSchedule) at(t time.Time) string {
	offset := time.Duration(t.UnixNano() % int64(s.total))
	for _, turn := range s.turns {
		if offset < turn.length {
			return turn.scenario
		}
		offset -= turn.length
	}
	return s.turns[len(s.turns)-1].scenario
}
