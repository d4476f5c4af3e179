package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/shims"
	"github.com/watchdog-run/watchdog/supervise"
)

// timeoutMain is the binary invoked as `timeout`: GNU coreutils timeout,
// option for option and status for status, that also records the run.
func timeoutMain(args []string) (int, syscall.Signal) {
	prog := args[0]
	supervise.SubscribeEarly(true)
	ta, err := shims.ParseTimeout(args[1:])
	if err != nil {
		var ue *shims.UsageError
		if errors.As(err, &ue) && ue.Msg != "" {
			fmt.Fprintf(os.Stderr, "%s: %s\n", prog, ue.Msg)
		}
		fmt.Fprintf(os.Stderr, "Try '%s --help' for more information.\n", prog)
		return supervise.ExitInternal, 0
	}
	if ta.Help {
		fmt.Print(shims.Help(prog))
		return 0, 0
	}
	if ta.Version {
		fmt.Printf("timeout (watchdog %s), a drop-in for GNU coreutils timeout 9.1\n", version)
		return 0, 0
	}
	m := runMode{prog: prog, stderr: os.Stderr, coreutils: true, bestEffort: true, quote: supervise.LocaleQuote}
	runID := launch.NewRunID()
	o := &execOptions{
		id:         launch.DefaultID("timeout", runID),
		argv:       ta.Argv,
		timeout:    ta.Duration,
		killAfter:  ta.KillAfter,
		signal:     ta.Signal,
		preserve:   ta.Preserve,
		foreground: ta.Foreground,
		verbose:    ta.Verbose,
	}
	err = superviseTask(shimStore(m), o, runID, m)
	var ee *launch.ExitError
	if !errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		return supervise.ExitInternal, 0
	}
	if ee.Msg != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", prog, ee.Msg)
	}
	return ee.Code, ee.Signal
}

// shimStore is the registry a drop-in run records in (registry.DropInPath).
// Trouble is a warning and the run goes on unrecorded.
func shimStore(m runMode) *registry.Store {
	path := registry.DropInPath()
	if path == "" {
		return nil
	}
	s, err := registry.Open(path)
	if err != nil {
		m.warn("running without a record: %v", err)
		return nil
	}
	return s
}
