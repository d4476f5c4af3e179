// Package outputflag is the command line of a task's output, shared by the
// two binaries that run tasks: --log[=FILE], --log-max SIZE and
// --idle-timeout DURATION, as exec and docker-run (in watchdog-docker)
// take them, with one parser and one set of messages.
//
// It reads options; it does not open logs, resolve the default log's path
// (that needs the registry and the run: tasklog.PathFor) or watch output.
package outputflag

import (
	"flag"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/supervise"
)

// LogDefault stands for "--log without a file": the task's own log beside
// the registry, named once the registry and the run are known.
const LogDefault = "\x00default"

// Flags are --log, --log-max and --idle-timeout, new for each command
// that takes them (urfave/cli keeps what it read from the environment in
// the flag itself).
func Flags() []cli.Flag {
	return []cli.Flag{
		&OptionalValueFlag{GenericFlag: cli.GenericFlag{
			Name:  "log",
			Usage: "keep stdout and stderr, as they pass, in the task's log beside the registry (or FILE); see `watchdog logs`",
		}},
		&cli.StringFlag{Name: "log-max", Usage: "keep at most `SIZE` of log: its head and newest tail (default 64m)"},
		&cli.StringFlag{Name: "idle-timeout", Usage: "end the command after `DURATION` without output on stdout or stderr (reason idle, exit 124)",
			EnvVars: []string{launch.EnvIdleTimeout}},
	}
}

// OptionalValueFlag is an option that takes a value only after '='. The
// flag package reads an option whose value says it is boolean that way, so
// that after a bare --log the next word is the command (`--log make
// test`); each parse gets a fresh value (urfave/cli would share one
// between runs).
type OptionalValueFlag struct{ cli.GenericFlag }

func (f *OptionalValueFlag) Apply(set *flag.FlagSet) error {
	g := f.GenericFlag
	g.Value = &optionalValue{}
	return g.Apply(set)
}

// Names is the option's name: it has no alias (and urfave/cli would work
// it out through a regular expression at every lookup).
func (f *OptionalValueFlag) Names() []string { return []string{f.Name} }

// TakesValue is false: a value only comes after '='.
func (f *OptionalValueFlag) TakesValue() bool { return false }

// String is the option's line in --help.
func (f *OptionalValueFlag) String() string {
	return fmt.Sprintf("--%s[=FILE]\t%s", f.Name, f.Usage)
}

// optionalValue is an OptionalValueFlag's value: "" when not given,
// LogDefault when given bare, else the value after '='.
type optionalValue struct{ v string }

func (v *optionalValue) Set(s string) error {
	switch s {
	case "true":
		v.v = LogDefault
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

// Value is what an OptionalValueFlag named name was given: "" when not
// given, LogDefault when given bare, else its value.
func Value(c *cli.Context, name string) string {
	if v, ok := c.Generic(name).(*optionalValue); ok {
		return v.v
	}
	return ""
}

// Parse reads --log (a FILE made absolute), --log-max and --idle-timeout
// (or WATCHDOG_IDLE_TIMEOUT) into out. example is a command line for the
// hint when --log-max comes without --log.
func Parse(c *cli.Context, out *launch.OutputOptions, example string) error {
	out.Log = Value(c, "log")
	if out.Log != "" && out.Log != LogDefault {
		abs, err := filepath.Abs(out.Log)
		if err != nil {
			return launch.Fail(fmt.Errorf("--log: %w", err), "")
		}
		out.Log, out.LogChosen = abs, true
	}
	out.LogMax = tasklog.DefaultMax
	if c.IsSet("log-max") {
		if out.Log == "" {
			return launch.Failf(example, "--log-max needs --log")
		}
		n, err := supervise.ParseBytes(c.String("log-max"))
		if err != nil {
			return launch.Fail(fmt.Errorf("--log-max: %w", err), "")
		}
		if n < tasklog.MinMax {
			return launch.Failf("", "--log-max: %s is below the least useful size, %dk", supervise.Quote(c.String("log-max")), tasklog.MinMax>>10)
		}
		out.LogMax = n
	}
	if c.IsSet("idle-timeout") {
		v := c.String("idle-timeout")
		d, err := supervise.ParseDuration(v)
		if err != nil {
			return launch.Fail(fmt.Errorf("%s: %w", launch.IdleTimeoutSource(v), err), "")
		}
		out.Idle = d
	}
	return nil
}
