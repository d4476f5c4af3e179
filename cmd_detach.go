package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// parseBackground reads --detach, --ready-*, --reuse and --tie.
func parseBackground(c *cli.Context, o *launch.Options) error {
	detach := c.Bool("detach")
	r := &o.Ready
	if v := c.String("ready-port"); c.IsSet("ready-port") {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return launch.Failf("", "--ready-port: %s is not a port (1-65535)", supervise.Quote(v))
		}
		r.Port = p
	}
	if c.IsSet("ready-http") {
		u, err := launch.ParseReadyHTTP(c.String("ready-http"))
		if err != nil {
			return launch.Fail(err, "")
		}
		r.HTTP = u
	}
	if v := c.String("ready-log"); c.IsSet("ready-log") {
		re, err := regexp.Compile(v)
		if err != nil {
			return launch.Failf("", "--ready-log: %s is not a regular expression: %v", supervise.Quote(v), err)
		}
		r.Log = re
	}
	if c.IsSet("ready-timeout") {
		d, err := supervise.ParseDuration(c.String("ready-timeout"))
		if err != nil {
			return launch.Fail(fmt.Errorf("--ready-timeout: %w", err), "")
		}
		if !r.Any() {
			return launch.Failf("", "--ready-timeout needs --ready-port, --ready-http or --ready-log")
		}
		r.Timeout = d
	}
	switch {
	case r.Any() && !detach:
		return launch.Failf("watchdog exec --detach --ready-port 3000 -- npm run dev", "--ready-port, --ready-http and --ready-log need --detach")
	case c.Bool("reuse") && r.Port == 0:
		return launch.Failf("watchdog exec --detach --ready-port 3000 --reuse -- npm run dev", "--reuse needs --ready-port: the port is how the running task is found")
	case detach && c.Bool("foreground"):
		return launch.Failf("", "--detach and --foreground cannot go together")
	case detach && c.Bool("keep-descendants"):
		return launch.Failf("", "--detach and --keep-descendants cannot go together: a kept process would lose its output when the watchdog exits")
	case c.Bool("json") && !detach:
		return launch.Failf("", "--json needs --detach: exec's output is the command's")
	}
	if detach && o.Output.Log == "" {
		o.Output.Log = logDefault // a detached task's output has nowhere else to go
	}
	if c.IsSet("tie") {
		t, err := launch.ResolveTie(c.String("tie"), os.Getppid())
		if err != nil {
			return launch.Fail(err, "")
		}
		o.Tie = t
	}
	return nil
}

// detach is exec --detach's foreground half: it refuses or reuses a task
// already serving the port, starts the background half and prints its
// report.
func detach(c *cli.Context, store *registry.Store, o *launch.Options) error {
	// A registry that does not parse is moved aside here, where the
	// warning reaches the caller: the background half's stderr reaches no
	// one, and Serving's read would refuse it (125) where exec goes on.
	if _, err := store.Load(); err != nil {
		return launch.Fail(err, "")
	}
	if port := o.Ready.Port; port > 0 {
		cwd, _ := os.Getwd()
		id, t, err := launch.Serving(store, port, o.Argv, cwd)
		if err != nil {
			return launch.Fail(err, "")
		}
		if t != nil {
			switch {
			case !c.Bool("reuse"):
				return launch.Failf("add --reuse to use it, or 'watchdog kill "+id+"' to replace it",
					"task %s already serves port %d with this command", supervise.Quote(id), port)
			case c.IsSet("id") && o.ID != id:
				return launch.Failf("drop --id to reuse it, or 'watchdog kill "+id+"' to replace it",
					"task %s already serves port %d with this command, not %s", supervise.Quote(id), port, supervise.Quote(o.ID))
			}
			return printDetach(c, launch.ReuseReport(id, t))
		}
	}
	rep, err := launch.Detach(os.Args, o.Tie)
	var lost *launch.BackgroundLost
	if errors.As(err, &lost) {
		return backgroundLost(store, lost)
	}
	if err != nil {
		return launch.Fail(err, "")
	}
	if rep.Code != 0 || rep.Msg != "" {
		code := rep.Code
		if code == 0 {
			code = supervise.ExitInternal
		}
		return &launch.ExitError{Code: code, Msg: rep.Msg, Hint: rep.Hint}
	}
	return printDetach(c, rep)
}

// backgroundLost says what became of a run whose background half ended
// without a report: the registry tells whether the task started.
func backgroundLost(store *registry.Store, lost *launch.BackgroundLost) error {
	id, err := launch.FindBySupervisor(store, lost.PID, lost.Ticks)
	hint := "nothing was recorded; see 'watchdog list', and 'watchdog sweep' ends what a supervisor left"
	switch {
	case err != nil:
		hint = fmt.Sprintf("the registry cannot tell whether the task started (%v); 'watchdog sweep' ends what a supervisor left", err)
	case id != "":
		hint = fmt.Sprintf("task %s started and runs without its supervisor: 'watchdog sweep' ends it and records it orphaned", supervise.Quote(id))
	}
	return launch.Fail(lost, hint)
}

func printDetach(c *cli.Context, rep *launch.DetachReport) error {
	if c.Bool("json") {
		b, err := json.Marshal(rep)
		if err != nil {
			return launch.Fail(err, "")
		}
		fmt.Fprintf(c.App.Writer, "%s\n", b)
		return nil
	}
	rep.WriteText(c.App.Writer)
	return nil
}
