package main

import (
	"flag"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/supervise"
)

// logDefault stands for "--log without a file": the task's own log beside
// the registry, named once the registry and the run are known.
const logDefault = "\x00default"

// logFlag is --log or --log=FILE. A FILE must be joined with '=': after a
// bare --log the next word is the command (`--log make test`).
var logFlag = &optionalValueFlag{GenericFlag: cli.GenericFlag{
	Name:  "log",
	Usage: "keep stdout and stderr, as they pass, in the task's log beside the registry (or FILE); see `watchdog logs`",
}}

// optionalValueFlag is an option that takes a value only after '='. The
// flag package reads an option whose value says it is boolean that way;
// each parse gets a fresh value (urfave/cli would share one between runs).
type optionalValueFlag struct{ cli.GenericFlag }

func (f *optionalValueFlag) Apply(set *flag.FlagSet) error {
	g := f.GenericFlag
	g.Value = &optionalValue{}
	return g.Apply(set)
}

// Names is the option's name: it has no alias (and urfave/cli would work
// it out through a regular expression at every lookup).
func (f *optionalValueFlag) Names() []string { return []string{f.Name} }

// TakesValue is false: a value only comes after '='.
func (f *optionalValueFlag) TakesValue() bool { return false }

// String is the option's line in --help.
func (f *optionalValueFlag) String() string {
	return fmt.Sprintf("--%s[=FILE]\t%s", f.Name, f.Usage)
}

// optionalValue is an optionalValueFlag's value: "" when not given,
// logDefault when given bare, else the value after '='.
type optionalValue struct{ v string }

func (v *optionalValue) Set(s string) error {
	switch s {
	case "true":
		v.v = logDefault
	case "false":
		v.v = ""
	case "", "-":
		return fmt.Errorf("%s is not a file name", supervise.Quote(s))
	default:
		v.v = s
	}
	return nil
}

func (v *optionalValue) String() string   { return v.v }
func (v *optionalValue) IsBoolFlag() bool { return true }

// parseOutput reads --log, --log-max, --idle-timeout and --non-interactive.
func parseOutput(c *cli.Context, o *launch.Options) error {
	out := &o.Output
	if v, ok := c.Generic("log").(*optionalValue); ok {
		out.Log = v.v
	}
	if out.Log != "" && out.Log != logDefault {
		abs, err := filepath.Abs(out.Log)
		if err != nil {
			return launch.Fail(fmt.Errorf("--log: %w", err), "")
		}
		out.Log = abs
	}
	out.LogMax = tasklog.DefaultMax
	if c.IsSet("log-max") {
		if out.Log == "" {
			return launch.Failf("watchdog exec --log --log-max 16m -- CMD", "--log-max needs --log")
		}
		n, err := supervise.ParseSize(c.String("log-max"))
		if err != nil {
			return launch.Fail(fmt.Errorf("--log-max: %w", err), "")
		}
		if n < minLogMax {
			return launch.Failf("", "--log-max: %s is below the least useful size, %dk", supervise.Quote(c.String("log-max")), minLogMax>>10)
		}
		out.LogMax = n
	}
	if c.IsSet("idle-timeout") {
		d, err := supervise.ParseDuration(c.String("idle-timeout"))
		if err != nil {
			return launch.Fail(fmt.Errorf("--idle-timeout: %w", err), "")
		}
		out.Idle = d
	}
	out.NonInteractive = c.Bool("non-interactive")
	return nil
}

// minLogMax is the smallest --log-max: room for a head, the marker that
// says what was dropped, and a tail.
const minLogMax = 4 << 10
