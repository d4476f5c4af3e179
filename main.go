// Command watchdog runs commands with a deadline, ends every process they
// start, and records each run in a JSON registry anyone can read.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/watchdog-run/watchdog/internal/cli"
	"github.com/watchdog-run/watchdog/internal/phase"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/shims"
	"github.com/watchdog-run/watchdog/supervise"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	phase.Mark("main")
	code, sig := run(os.Args, os.Stderr)
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
func run(args []string, stderr io.Writer) (int, syscall.Signal) {
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
	if subcommand(args) == "exec" {
		supervise.SubscribeEarly(false)
	}
	app := newApp(stderr)
	err := app.Run(reorderArgs(args, app.Commands))
	if err == nil {
		return 0, 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(stderr, "watchdog: %s\n", ee.msg)
		}
		if ee.hint != "" {
			fmt.Fprintf(stderr, "watchdog: hint: %s\n", ee.hint)
		}
		return ee.code, ee.sig
	}
	fmt.Fprintf(stderr, "watchdog: %s\n", err)
	return supervise.ExitInternal, 0
}

// subcommand is the command name in args, after the global options.
func subcommand(args []string) string {
	if i := commandIndex(args); i < len(args) {
		return args[i]
	}
	return ""
}

// exitError carries an exit status (and message) from an action to main.
type exitError struct {
	code int
	sig  syscall.Signal // die of this signal instead of exiting
	msg  string
	hint string
}

func (e *exitError) Error() string { return e.msg }

// fail is the watchdog's own failure: exit 125 with a message and a hint.
func fail(err error, hint string) error {
	var pe *registry.PermError
	if errors.As(err, &pe) && hint == "" {
		hint = pe.Hint
	}
	return &exitError{code: supervise.ExitInternal, msg: err.Error(), hint: hint}
}

func failf(hint, format string, a ...any) error {
	return &exitError{code: supervise.ExitInternal, msg: fmt.Sprintf(format, a...), hint: hint}
}

func exitCode(code int) error { return &exitError{code: code} }

func newApp(stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "watchdog",
		Usage:   "run commands with a deadline, end everything they start, keep a record",
		Version: version,
		Description: "Every run is recorded in a JSON registry (default " + registry.DefaultPath + ",\n" +
			"or --registry / WATCHDOG_REGISTRY). Exit statuses follow GNU timeout: the command's own,\n" +
			"124 timed out, 137 killed after the grace, 125 the watchdog failed, 126 not executable,\n" +
			"127 not found.",
		Flags:        []cli.Flag{registryFlag},
		Commands:     commands(),
		ErrWriter:    stderr,
		OnUsageError: usageError,
	}
}

// usageError turns a flag-parsing error into exit 125 with a pointer to help.
func usageError(c *cli.Context, err error, _ bool) error {
	var names []string
	for _, x := range c.Lineage() {
		names = append([]string{x.Command.Name}, names...)
	}
	return failf("run '"+strings.Join(names, " ")+" --help' for usage", "%v", err)
}

var registryFlag = &cli.StringFlag{
	Name:  "registry",
	Usage: "registry file `PATH` (default: $WATCHDOG_REGISTRY, else " + registry.DefaultPath + ")",
}

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
		return nil, fail(err, "")
	}
	s.Warn = func(msg string) { fmt.Fprintf(c.App.ErrWriter, "watchdog: warning: %s\n", msg) }
	s.Archive = true
	return s, nil
}
