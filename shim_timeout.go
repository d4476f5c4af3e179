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
	m := launch.Mode{Prog: prog, Stderr: os.Stderr, Coreutils: true, BestEffort: true}
	runID := launch.NewRunID()
	o := &launch.Options{
		ID:         launch.DefaultID("timeout", runID),
		Argv:       ta.Argv,
		Timeout:    ta.Duration,
		KillAfter:  ta.KillAfter,
		Signal:     ta.Signal,
		Preserve:   ta.Preserve,
		Foreground: ta.Foreground,
		Verbose:    ta.Verbose,
	}
	ee := launch.RunNative(shimStore(m), o, runID, m)
	if ee.Msg != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", prog, ee.Msg)
	}
	return ee.Code, ee.Signal
}

// shimStore is the registry a drop-in run records in (registry.DropInPath).
// Trouble is a warning and the run goes on unrecorded.
func shimStore(m launch.Mode) *registry.Store {
	path := registry.DropInPath()
	if path == "" {
		return nil
	}
	s, err := registry.Open(path)
	if err != nil {
		m.Warn("running without a record: %v", err)
		return nil
	}
	return s
}
