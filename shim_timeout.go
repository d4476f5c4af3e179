package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
		id:         "timeout-" + runID[:8],
		argv:       ta.Argv,
		timeout:    ta.Duration,
		killAfter:  ta.KillAfter,
		signal:     ta.Signal,
		preserve:   ta.Preserve,
		foreground: ta.Foreground,
		verbose:    ta.Verbose,
	}
	err = superviseTask(shimStore(m), o, runID, m)
	var ee *exitError
	if !errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		return supervise.ExitInternal, 0
	}
	if ee.msg != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", prog, ee.msg)
	}
	return ee.code, ee.sig
}

// shimStore is the registry a shim records in: WATCHDOG_REGISTRY; else the
// project's .claude/process_registry.json when .claude/ exists here; else
// the user's own under $XDG_STATE_HOME/watchdog/ (a drop-in must not leave
// .claude/ directories wherever scripts call timeout). Trouble is a
// warning and the run goes on unrecorded.
func shimStore(m runMode) *registry.Store {
	path := os.Getenv("WATCHDOG_REGISTRY")
	if path == "" {
		if fi, err := os.Stat(filepath.Dir(registry.DefaultPath)); err == nil && fi.IsDir() {
			path = registry.DefaultPath
		} else if idx := registry.IndexPath(); idx != "" {
			path = filepath.Join(filepath.Dir(idx), "process_registry.json")
		}
	}
	if path == "" {
		return nil
	}
	s, err := registry.Open(path)
	if err != nil {
		m.warn("running without a record: %v", err)
		return nil
	}
	s.Archive = true
	return s
}
