package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/supervise"
)

const sweepDescription = `Reaps what dead or stuck supervisors left behind:

  - running tasks whose supervisor is gone: their whole tree is ended (TERM,
    --grace, KILL) and they are marked failed (orphaned);
  - running tasks long past their deadline (deadline + kill-after + 30s)
    though the supervisor lives: their tree is ended, marked failed (timeout);
  - this user's processes carrying a run tag whose supervisor is gone and
    that no registry records (it died between fork and write): ended;
  - running entries whose processes are all gone: marked failed (lost).

Never signalled: a pid whose start time does not match the record (another
process now); what a run kept on purpose (--keep-descendants, the timeout
drop-in: of an orphaned kept run only the command is ended); another user's
process found by its run tag alone; a task whose supervisor is on another
host or in another PID namespace (a container); pid 1, the watchdog and its
ancestors. Entries of the earlier Rust tool (no supervisor) are never
signalled: if their process is gone they are marked lost.

Processes are found by process group, descent and run tag: once a
supervisor is dead, one that cleared its environment and left its session
cannot be seen (the report says so). --dry-run reads and writes nothing
beyond what it reports; a registry that does not parse is moved aside only
when sweep writes it, and that is reported.

Safe to run from cron every minute, beside running supervisors and beside
another sweep; quiet when there is nothing to do; exits 0 unless something
failed (an unusable registry, a process that survived KILL).`

var sweepFlags = []cli.Flag{
	&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "say what would be done; signal and write nothing"},
	&cli.BoolFlag{Name: "json", Usage: "report as JSON"},
	&cli.BoolFlag{Name: "all", Usage: "sweep every registry this user has used (the index under $XDG_STATE_HOME/watchdog/)"},
	&cli.StringFlag{Name: "grace", Usage: "`DURATION` between TERM and KILL", Value: "10s"},
	registryFlag,
}

var sweepCommand = &cli.Command{
	Name:         "sweep",
	Usage:        "end what dead supervisors left behind; close stale records",
	Description:  sweepDescription,
	Flags:        append([]cli.Flag{&cli.StringFlag{Name: "every", Usage: "sweep again every `DURATION` until interrupted"}}, sweepFlags...),
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		every := time.Duration(0)
		if c.IsSet("every") {
			d, err := supervise.ParseDuration(c.String("every"))
			if err != nil || d <= 0 {
				return launch.Failf("", "--every: invalid duration %s (use e.g. 30s or 1m)", supervise.Quote(c.String("every")))
			}
			every = d
		}
		return sweepLoop(c, every)
	},
}

var runCommand = &cli.Command{
	Name:         "run",
	Usage:        "the earlier tool's sweep loop: sweep every --interval seconds",
	Description:  "The earlier Rust tool's daemon mode, kept under its name for those who run it;\nthe same as: watchdog sweep --every Ns.\n\n" + sweepDescription,
	Flags:        append([]cli.Flag{&cli.IntFlag{Name: "interval", Aliases: []string{"i"}, Usage: "seconds between sweeps", Value: 30}}, sweepFlags...),
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		n := c.Int("interval")
		if n <= 0 {
			return launch.Failf("", "--interval must be a positive number of seconds, not %d", n)
		}
		return sweepLoop(c, time.Duration(n)*time.Second)
	},
}

func sweepLoop(c *cli.Context, every time.Duration) error {
	grace, err := supervise.ParseDuration(c.String("grace"))
	if err != nil {
		return launch.Fail(fmt.Errorf("--grace: %w", err), "")
	}
	o := launch.SweepOptions{DryRun: c.Bool("dry-run"), All: c.Bool("all"), Grace: grace, Containers: sweepContainers}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	for {
		rep := launch.Sweep(registryPath(c), o)
		printSweep(c.App.Writer, c.App.ErrWriter, rep, c.Bool("json"), every > 0)
		if every == 0 {
			if len(rep.Errors) > 0 {
				return launch.Exit(1)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// printSweep writes the report; stamped (a sweep loop, whose output goes
// to a log) starts each line with the sweep's time.
func printSweep(stdout, stderr io.Writer, rep launch.SweepReport, asJSON, stamped bool) {
	if asJSON {
		_ = writeJSON(stdout, rep)
		return
	}
	rep = rep.Escaped() // ids, commands and paths come from registries anyone may write
	tag := "watchdog: sweep:"
	if stamped {
		tag = rep.Time + " " + tag
	}
	for _, ev := range rep.Actions {
		var b strings.Builder
		who := ev.ID
		switch {
		case who == "" && ev.RunID != "":
			who = "run " + ev.RunID
		case who == "":
			who = ev.Action // a cgroup no registry records
		}
		verb := "ended"
		if ev.DryRun {
			verb = "would end"
		}
		fmt.Fprintf(&b, tag+" %s: %s", who, ev.Detail)
		switch {
		case ev.DryRun:
			if n, ok := ev.WouldEnd(); ok {
				fmt.Fprintf(&b, "; %s %d process(es)", verb, n)
			}
		case len(ev.Signalled) > 0:
			fmt.Fprintf(&b, "; %s %d process(es)", verb, len(ev.Signalled))
			if len(ev.Killed) > 0 {
				fmt.Fprintf(&b, " (%d needed KILL)", len(ev.Killed))
			}
		}
		if ev.Status != "" {
			if ev.DryRun {
				fmt.Fprintf(&b, "; would mark %s (%s)", ev.Status, ev.Reason)
			} else {
				fmt.Fprintf(&b, "; marked %s (%s)", ev.Status, ev.Reason)
			}
		}
		fmt.Fprintln(stdout, b.String())
		for _, z := range ev.Zombies {
			fmt.Fprintf(stdout, tag+" %s: %s\n", who, z)
		}
	}
	if rep.EndedSome() {
		fmt.Fprintln(stdout, tag+" processes were found by process group and run tag; one that cleared its environment and left its session cannot be seen (README: what containment covers)")
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "%s warning: %s\n", tag, w)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(stderr, "%s %s\n", tag, e)
	}
}
