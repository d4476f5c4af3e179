package main

import (
	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/outputflag"
	"github.com/watchdog-run/watchdog/launch"
)

// logDefault stands for "--log without a file": the task's own log beside
// the registry, named once the registry and the run are known.
const logDefault = outputflag.LogDefault

// outputFlags are exec's --log[=FILE], --log-max and --idle-timeout, as
// docker-run (in watchdog-docker) takes them: internal/outputflag.
var outputFlags = outputflag.Flags()

// parseOutput reads --log, --log-max, --idle-timeout and --non-interactive.
func parseOutput(c *cli.Context, o *launch.Options) error {
	if err := outputflag.Parse(c, &o.Output, "watchdog exec --log --log-max 16m -- CMD"); err != nil {
		return err
	}
	o.Output.NonInteractive = c.Bool("non-interactive")
	return nil
}
