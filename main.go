// Command watchdog runs commands with a deadline, ends every process they
// start, and records each run in a JSON registry anyone can read.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/phase"
	"github.com/watchdog-run/watchdog/internal/version"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/shims"
	"github.com/watchdog-run/watchdog/supervise"
)

// The version is --version or -V, not urfave/cli's -v: -v is --verbose in
// exec (timeout's -v) and --volume in docker-run (docker run's -v).
func init() {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Aliases: []string{"V"}, Usage: "print the version", DisableDefaultText: true}
}

// linkedVersion is set by release builds with -ldflags "-X
// main.linkedVersion=..."; others are named by internal/version.
var linkedVersion = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == supervise.EnterArg {
		// The command's first step on a hybrid machine with limits: enter
		// its v1 cgroups, then become the command (supervise.EnterAndExec).
		os.Exit(supervise.EnterAndExec(os.Args[2:], os.Stderr))
	}
	phase.Mark("main")
	code, sig := run(os.Args, os.Stdout, os.Stderr)
	phase.Mark("exit")
	phase.Dump()
	if sig != 0 {
		supervise.Reraise(sig)
	}
	os.Exit(code)
}

// run executes one invocation and returns the exit status, or a signal the
// process should die of. Nothing below it calls os.Exit, so deferred
// unlocks and tree kills always run.
func run(args []string, stdout, stderr io.Writer) (int, syscall.Signal) {
	switch base := filepath.Base(args[0]); {
	case base == "timeout":
		return timeoutMain(args)
	case base != "watchdog":
		// Invoked under another name: a PATH shim if it came from a shim
		// directory. The watchdog's own name never pays for the check.
		if dir := shims.Locate(args[0]); dir != "" {
			return pathShimMain(args, dir)
		}
	}
	launch.DropEmptyEnv()
	if subcommand(args) == "exec" {
		supervise.SubscribeEarly(false)
	}
	app := newApp(stdout, stderr)
	err := app.Run(reorderArgs(args, app.Commands))
	if err == nil {
		return 0, 0
	}
	ee := launch.AsExit(err)
	ee.Report(stderr, "watchdog")
	return ee.Code, ee.Signal
}

// subcommand is the command name in args, after the global options.
func subcommand(args []string) string {
	if i := commandIndex(args); i < len(args) {
		return args[i]
	}
	return ""
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "watchdog",
		Usage:   "run commands with a deadline, end everything they start, keep a record",
		Version: version.Of(linkedVersion),
		Description: "Every run is recorded in a JSON registry: --registry or WATCHDOG_REGISTRY, else\n" +
			registry.DefaultPath + " in the nearest " + registry.ProjectDir + "/ at or above the working\n" +
			"directory (below $HOME), else ~/.local/state/watchdog/process_registry.json (under\n" +
			"XDG_STATE_HOME if set): exec, docker-run, the timeout drop-in and the shims all use\n" +
			"that rule. Exit statuses follow GNU timeout: the command's own,\n" +
			"124 timed out, 137 killed after the grace, 125 the watchdog failed, 126 not executable,\n" +
			"127 not found.",
		// --help by hand: urfave/cli adds it only with its own help command.
		Flags:                withNames([]cli.Flag{registryFlag, cli.HelpFlag}),
		Commands:             commands(),
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		OnUsageError:         usageError,
		// Without a command: the help. A word that names no command is a
		// usage error (urfave/cli would say "No help topic").
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return launch.Failf("run 'watchdog --help' for the commands", "unknown command %s", supervise.Quote(c.Args().First()))
			}
			return cli.ShowAppHelp(c)
		},
		// Errors come back to run, which reports them and returns the
		// status: nothing below main calls os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// usageError turns a flag-parsing error into exit 125 with a pointer to help.
func usageError(c *cli.Context, err error, _ bool) error {
	name := "watchdog"
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		name = "watchdog " + c.Command.FullName()
	}
	return launch.Failf("run '"+name+" --help' for usage", "%s", flagMessage(err.Error()))
}

// flagMessage says a flag error as the watchdog's other messages do: the
// option as it is typed (--days, -d) and the value quoted by
// supervise.Quote, not the flag package's one dash and Go quotes. (The
// patterns are compiled here, on the error path, not at start.)
func flagMessage(msg string) string {
	flagUnknown := regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	flagNoValue := regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
	flagBad := regexp.MustCompile(`^invalid value "(.*)" for flag -+([^:]*): (.*)$`)
	flagBool := regexp.MustCompile(`^invalid boolean value "(.*)" for -+([^:]*): (.*)$`)
	opt := func(name string) string {
		if len(name) == 1 {
			return "-" + name
		}
		return "--" + name
	}
	if m := flagUnknown.FindStringSubmatch(msg); m != nil {
		return "unknown option " + supervise.Quote(opt(m[1]))
	}
	if m := flagNoValue.FindStringSubmatch(msg); m != nil {
		return opt(m[1]) + " needs a value"
	}
	if m := flagBool.FindStringSubmatch(msg); m != nil {
		return opt(m[2]) + ": invalid value " + supervise.Quote(m[1]) + " (want true or false)"
	}
	if m := flagBad.FindStringSubmatch(msg); m != nil {
		value, err := strconv.Unquote(`"` + m[1] + `"`)
		if err != nil {
			value = m[1]
		}
		out := opt(m[2]) + ": invalid value " + supervise.Quote(value)
		if m[3] != "parse error" {
			out += " (" + m[3] + ")"
		}
		return out
	}
	return msg
}

var registryFlag = &cli.StringFlag{
	Name:    "registry",
	Usage:   "registry file `PATH` (default: " + registry.DefaultPath + " in the nearest " + registry.ProjectDir + "/ above, else the user's)",
	EnvVars: []string{registry.EnvPath},
}

// registryPath is the registry named by --registry (before or after the
// command name: reorderArgs brings it to the command), WATCHDOG_REGISTRY or
// the default: registry.Path.
func registryPath(c *cli.Context) string { return registry.Path(c.String("registry")) }

// openStore opens the registry named by --registry (after the command name
// or before it), WATCHDOG_REGISTRY, or the default, creating its directory.
func openStore(c *cli.Context) (*registry.Store, error) { return openStoreWith(c, registry.Open) }

// openStoreForReading is openStore for commands that only read: they never
// create a directory where there is no registry.
func openStoreForReading(c *cli.Context) (*registry.Store, error) {
	return openStoreWith(c, registry.OpenForReading)
}

func openStoreWith(c *cli.Context, open func(string) (*registry.Store, error)) (*registry.Store, error) {
	s, err := open(registryPath(c))
	if err != nil {
		return nil, launch.Fail(err, "")
	}
	s.Warn = storeWarnings(c)
	return s, nil
}

// storeWarnings is where a registry's warnings go (a quarantine, skipped
// history lines): stderr, escaped, as every message.
func storeWarnings(c *cli.Context) func(string) {
	return func(msg string) { fmt.Fprintf(c.App.ErrWriter, "watchdog: warning: %s\n", supervise.Escape(msg)) }
}
