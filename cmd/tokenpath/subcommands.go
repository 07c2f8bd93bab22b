package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"
)

// subcommands are tokenpath's commands besides the server.
type subcommands struct{}

func registerSubcommands(app *kingpin.Application) *subcommands {
	return &subcommands{}
}

func (s *subcommands) run(cmd string) error {
	return fmt.Errorf("unknown command %q", cmd)
}
