package main

import "github.com/urfave/cli/v2"

// commands wires every subcommand; each lives in its own cmd_*.go file.
func commands() []*cli.Command {
	return []*cli.Command{
		execCommand,
		sweepCommand,
		runCommand,
	}
}
