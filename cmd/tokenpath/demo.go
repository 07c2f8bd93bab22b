package main

import (
	"errors"
	"log/slog"
)

// demo is the --demo mode: simulated inference servers in-process.
type demo struct{}

func newDemo(*slog.Logger) (*demo, error) {
	return nil, errors.New("--demo: the simulator is not built yet")
}

func (d *demo) actor() actor                    { return actor{} }
func (d *demo) endpoints() (vllm, tgi []string) { return nil, nil }
func (d *demo) gpuLoad() float64                { return 0 }
