package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

var registerCommand = &cli.Command{
	Name:      "register",
	Usage:     "record a task started elsewhere (optionally adopting a live process)",
	ArgsUsage: "ID",
	Description: `Records ID as running with --command as its description. --pid adopts a
live process: its start time is read now, so list, check, kill and sweep
recognise it (and never mistake a later process with the same pid for it).
A registered task has no supervisor and no deadline; sweep closes its record
(failed, lost) once the process is gone, and never signals it. --pid 1 or
less is refused: such a pid is never adopted or signalled.

Without --pid nothing watches the task: its record says running until
"watchdog kill ID" closes it (cancelled; nothing is signalled), and
neither sweep nor a new register or exec with that id touches it before.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "command", Aliases: []string{"c"}, Usage: "what the task runs (display)", Required: true},
		&cli.StringFlag{Name: "rules", Usage: "comma-separated constitution rules (the earlier tool's field)"},
		&cli.IntFlag{Name: "pid", Usage: "adopt this live process"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "`KEY=VALUE` label (repeatable)"},
		registryFlag,
	},
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		labels, err := launch.ParseLabels(c.StringSlice("label"))
		if err != nil {
			return launch.Fail(err, "")
		}
		cmdline := c.String("command")
		if strings.TrimSpace(cmdline) == "" {
			return launch.Failf("", "--command must not be empty")
		}
		t := &registry.Task{Mode: registry.ModeNative, Command: cmdline, Status: registry.StatusRunning,
			StartedAt: registry.FormatTime(time.Now()), ConstitutionRules: []string{}, Labels: labels}
		if r := c.String("rules"); r != "" {
			for _, rule := range strings.Split(r, ",") {
				if rule = strings.TrimSpace(rule); rule != "" {
					t.ConstitutionRules = append(t.ConstitutionRules, rule)
				}
			}
		}
		if c.IsSet("pid") {
			pid := c.Int("pid")
			if pid <= 1 {
				// kill(2) reads 0 and negative pids as process groups (-1:
				// every process), and 1 is init: none is ever a task's.
				return launch.Failf("name the task's own process (ps shows its pid)",
					"--pid %d is refused for safety: a pid of 1 or less is never adopted or signalled", pid)
			}
			if pid == os.Getpid() {
				return launch.Failf("", "--pid %d is the watchdog itself", pid)
			}
			p, err := supervise.ReadProc(pid)
			if err != nil || p.Zombie() {
				return launch.Failf("check the pid with ps", "--pid %d: no such live process", pid)
			}
			t.Native = &registry.Native{PID: pid, PGID: p.PGID, StartTime: supervise.FormatLstart(p.StartTicks),
				EnvTag: supervise.EnvTaskID + "=" + id, StartTicks: p.StartTicks, BootID: supervise.BootID()}
			t.StartedAt = registry.FormatTime(supervise.StartWallTime(p.StartTicks))
		}
		store, err := openStore(c)
		if err != nil {
			return err
		}
		err = store.Update(func(r *registry.Registry) error {
			if err := launch.RefuseRunning(r, id); err != nil {
				return err
			}
			r.Put(id, t)
			return nil
		})
		if err != nil {
			if _, ok := err.(*launch.ExitError); ok {
				return err
			}
			return launch.Fail(err, "")
		}
		fmt.Fprintf(c.App.Writer, "watchdog: registered %s\n", id)
		if t.Native == nil {
			fmt.Fprintf(c.App.Writer, "watchdog: hint: without --pid nothing watches it: it stays running until watchdog kill %s closes it\n", id)
		}
		return nil
	},
}
