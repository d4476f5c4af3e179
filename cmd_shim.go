package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/shims"
	"github.com/watchdog-run/watchdog/supervise"
)

var shimDirFlag = &cli.StringFlag{Name: "dir", Usage: "shim `DIR` (default $XDG_DATA_HOME/watchdog/shims)"}

var shimCommand = &cli.Command{
	Name:  "shim",
	Usage: "PATH shims: supervise commands in scripts nobody edits",
	Description: `With DIR first on PATH, running CMD runs the real CMD found further down
PATH, supervised exactly like "watchdog exec" (new session, tags, deadline,
registry record, exit statuses), with the shim's --timeout, or
WATCHDOG_TIMEOUT when set. Arguments, stdin, stdout and the exit status pass
through untouched. A shim never runs itself or another shim.

A shim installed with --idle-timeout or --log runs its command as "exec
--idle-timeout DUR --log" would (WATCHDOG_IDLE_TIMEOUT over the shim's
idle timeout): its stdout and stderr then pass through the watchdog, as
pipes.

  watchdog shim install --timeout 10m --idle-timeout 5m --log pytest npm
  export PATH="$(watchdog shim dir):$PATH"`,
	Subcommands: []*cli.Command{
		{
			Name:      "install",
			Usage:     "put shims for the named commands in DIR",
			ArgsUsage: "CMD...",
			Flags: []cli.Flag{shimDirFlag,
				&cli.StringFlag{Name: "timeout", Aliases: []string{"t"}, Usage: "default deadline `DURATION` of these shims"},
				&cli.StringFlag{Name: "idle-timeout", Usage: "end the command after `DURATION` without output on stdout or stderr (reason idle, exit 124)"},
				&cli.BoolFlag{Name: "log", Usage: "keep each run's stdout and stderr in its log beside the registry; see 'watchdog logs'"}},
			OnUsageError: usageError,
			Action: func(c *cli.Context) error {
				if c.NArg() == 0 {
					return launch.Failf("watchdog shim install --timeout 10m pytest", "name at least one command")
				}
				for _, name := range c.Args().Slice() {
					// Only after a "--" can a name start with '-' (options
					// after the names are options): a misplaced option,
					// never a command to shim. remove still takes such
					// names, for the shims an older watchdog made of them.
					if strings.HasPrefix(name, "-") {
						return launch.Failf("options may come before or after the names: watchdog shim install pytest --timeout 10m",
							"%s is not a command name: a shim's name cannot start with '-'", supervise.Quote(name))
					}
				}
				sc := shims.ShimConfig{Timeout: c.String("timeout"), IdleTimeout: c.String("idle-timeout"), Log: c.Bool("log")}
				for _, d := range []struct{ opt, v string }{{"--timeout", sc.Timeout}, {"--idle-timeout", sc.IdleTimeout}} {
					if d.v == "" {
						continue
					}
					if _, err := supervise.ParseDuration(d.v); err != nil {
						return launch.Fail(fmt.Errorf("%s: %w", d.opt, err), "")
					}
				}
				dir, self, err := shimDirAndSelf(c)
				if err != nil {
					return err
				}
				if err := shims.Install(dir, self, c.Args().Slice(), sc); err != nil {
					return launch.Fail(err, "")
				}
				fmt.Fprintf(c.App.Writer, "watchdog: shims for %s in %s\n", strings.Join(c.Args().Slice(), ", "), dir)
				if !onPathFirst(dir) {
					fmt.Fprintf(c.App.Writer, "watchdog: hint: export PATH=%q\n", dir+":$PATH")
				}
				return nil
			},
		},
		{
			Name:         "list",
			Usage:        "the shims in DIR, their timeouts, whether they log, and the real commands they run",
			Flags:        []cli.Flag{shimDirFlag, jsonFlag},
			OnUsageError: usageError,
			Action: func(c *cli.Context) error {
				dir, self, err := shimDirAndSelf(c)
				if err != nil {
					return err
				}
				entries, err := shims.List(dir, self)
				if err != nil {
					return launch.Fail(err, "")
				}
				if c.Bool("json") {
					if entries == nil {
						entries = []shims.Entry{}
					}
					return writeJSON(c.App.Writer, struct {
						Dir   string        `json:"dir"`
						Shims []shims.Entry `json:"shims"`
					}{dir, entries})
				}
				if len(entries) == 0 {
					fmt.Fprintf(c.App.Writer, "no shims in %s\n", dir)
					return nil
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "COMMAND\tTIMEOUT\tIDLE-TIMEOUT\tLOG\tRUNS")
				for _, e := range entries {
					real := e.Real
					if real == "" {
						real = "(not found beyond the shims)"
					}
					log := "-"
					if e.Log {
						log = "yes"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, orDash(e.Timeout), orDash(e.IdleTimeout), log, real)
				}
				return tw.Flush()
			},
		},
		{
			Name:         "remove",
			Usage:        "take the named shims out of DIR",
			ArgsUsage:    "CMD...",
			Flags:        []cli.Flag{shimDirFlag},
			OnUsageError: usageError,
			Action: func(c *cli.Context) error {
				if c.NArg() == 0 {
					return launch.Failf("", "name at least one command")
				}
				dir, self, err := shimDirAndSelf(c)
				if err != nil {
					return err
				}
				if err := shims.Remove(dir, self, c.Args().Slice()); err != nil {
					return launch.Fail(err, "watchdog shim list shows what is installed")
				}
				fmt.Fprintf(c.App.Writer, "watchdog: removed %s from %s\n", strings.Join(c.Args().Slice(), ", "), dir)
				return nil
			},
		},
		{
			Name:  "dir",
			Usage: "print the default shim directory",
			Action: func(c *cli.Context) error {
				fmt.Fprintln(c.App.Writer, shims.DefaultDir())
				return nil
			},
		},
	},
}

func shimDirAndSelf(c *cli.Context) (string, string, error) {
	dir := c.String("dir")
	if dir == "" {
		dir = shims.DefaultDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", launch.Fail(err, "")
	}
	self, err := os.Executable()
	if err != nil {
		return "", "", launch.Fail(err, "")
	}
	return abs, self, nil
}

// orDash is s, or "-" for nothing.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func onPathFirst(dir string) bool {
	first, _, _ := strings.Cut(os.Getenv("PATH"), ":")
	return first == dir
}

// pathShimMain is the binary invoked through a PATH shim: run the real
// command, supervised like exec, recorded, with the shim's deadline, idle
// timeout and log.
func pathShimMain(args []string, dir string) (int, syscall.Signal) {
	supervise.SubscribeEarly(false)
	name := filepath.Base(args[0])
	m := launch.Mode{Prog: "watchdog", Stderr: os.Stderr, BestEffort: true}
	fatal := func(code int, format string, a ...any) (int, syscall.Signal) {
		fmt.Fprintf(os.Stderr, "watchdog: "+format+"\n", a...)
		return code, 0
	}
	self, err := os.Executable()
	if err != nil {
		return fatal(supervise.ExitInternal, "%v", err)
	}
	real, err := shims.FindReal(name, self)
	if err != nil {
		return fatal(127, "%v", err)
	}
	cfg, err := shims.ReadConfig(dir)
	if err != nil {
		return fatal(supervise.ExitInternal, "shim configuration: %v", err)
	}
	sc := cfg.Shims[name]
	o := &launch.Options{Argv: append([]string{name}, args[1:]...), Path: real, Signal: syscall.SIGTERM, KillAfter: supervise.DefaultKillAfter}
	if o.Timeout, err = shimDuration(sc.Timeout, "--timeout", launch.EnvTimeout); err != nil {
		return fatal(supervise.ExitInternal, "%v", err)
	}
	if o.Output.Idle, err = shimDuration(sc.IdleTimeout, "--idle-timeout", launch.EnvIdleTimeout); err != nil {
		return fatal(supervise.ExitInternal, "%v", err)
	}
	runID := launch.NewRunID()
	o.ID = shimTaskID(name, runID)
	store := shimStore(m)
	if sc.Log {
		// The log lives beside the registry; without one the command
		// runs unlogged, as it runs unrecorded (shimStore said why).
		if store != nil {
			o.Output.Log, o.Output.LogMax = tasklog.PathFor(store.Path, o.ID, runID), tasklog.DefaultMax
		} else {
			m.Warn("running without a log: it is kept beside the registry")
		}
	}
	ee := launch.RunNative(store, o, runID, m)
	if ee.Msg != "" {
		fmt.Fprintf(os.Stderr, "watchdog: %s\n", ee.Msg)
	}
	return ee.Code, ee.Signal
}

// shimDuration is one of a shim's durations: the variable env when set,
// else the shim's own option (empty: none, 0).
func shimDuration(own, option, env string) (time.Duration, error) {
	v, source := own, "the shim's "+option
	if e := os.Getenv(env); e != "" {
		v, source = e, env
	}
	if v == "" {
		return 0, nil
	}
	d, err := supervise.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", source, err)
	}
	return d, nil
}

// shimTaskID makes a task id from a command name: characters ids do not
// allow become '-', and the run id's last 8 hex digits make it unique.
func shimTaskID(name, runID string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '-'
		}
	}
	s := strings.TrimLeft(string(b), "-_.")
	if len(s) > 40 {
		s = s[:40]
	}
	if s == "" {
		s = "shim"
	}
	return launch.DefaultID(s, runID)
}
