package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
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

  watchdog shim install --timeout 10m pytest npm
  export PATH="$(watchdog shim dir):$PATH"`,
	Subcommands: []*cli.Command{
		{
			Name:      "install",
			Usage:     "put shims for the named commands in DIR",
			ArgsUsage: "CMD...",
			Flags: []cli.Flag{shimDirFlag,
				&cli.StringFlag{Name: "timeout", Aliases: []string{"t"}, Usage: "default deadline `DURATION` of these shims"}},
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
				if t := c.String("timeout"); t != "" {
					if _, err := supervise.ParseDuration(t); err != nil {
						return launch.Fail(fmt.Errorf("--timeout: %w", err), "")
					}
				}
				dir, self, err := shimDirAndSelf(c)
				if err != nil {
					return err
				}
				if err := shims.Install(dir, self, c.Args().Slice(), c.String("timeout")); err != nil {
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
			Usage:        "the shims in DIR, their timeouts and the real commands they run",
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
				fmt.Fprintln(tw, "COMMAND\tTIMEOUT\tRUNS")
				for _, e := range entries {
					t, real := e.Timeout, e.Real
					if t == "" {
						t = "-"
					}
					if real == "" {
						real = "(not found beyond the shims)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, t, real)
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

func onPathFirst(dir string) bool {
	first, _, _ := strings.Cut(os.Getenv("PATH"), ":")
	return first == dir
}

// pathShimMain is the binary invoked through a PATH shim: run the real
// command, supervised like exec, recorded, with the shim's deadline.
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
	timeout, source := cfg.Shims[name].Timeout, "the shim's --timeout"
	if v := os.Getenv(launch.EnvTimeout); v != "" {
		timeout, source = v, launch.EnvTimeout
	}
	o := &launch.Options{Argv: append([]string{name}, args[1:]...), Path: real, Signal: syscall.SIGTERM, KillAfter: supervise.DefaultKillAfter}
	if timeout != "" {
		if o.Timeout, err = supervise.ParseDuration(timeout); err != nil {
			return fatal(supervise.ExitInternal, "%s: %v", source, err)
		}
	}
	runID := launch.NewRunID()
	o.ID = shimTaskID(name, runID)
	ee := launch.RunNative(shimStore(m), o, runID, m)
	if ee.Msg != "" {
		fmt.Fprintf(os.Stderr, "watchdog: %s\n", ee.Msg)
	}
	return ee.Code, ee.Signal
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
