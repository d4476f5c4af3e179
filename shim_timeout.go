package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/watchdog-run/watchdog/internal/version"
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
	if ta.Help || ta.Version {
		text := shims.Help(prog)
		if ta.Version {
			text = fmt.Sprintf("timeout (watchdog %s), a drop-in for GNU coreutils timeout 9.1\n", version.Of(linkedVersion))
		}
		// coreutils' close_stdout: output that cannot be written is a
		// failure, said on stderr.
		if _, err := io.WriteString(os.Stdout, text); err != nil {
			fmt.Fprintf(os.Stderr, "%s: write error: %s\n", prog, strerror(err))
			return supervise.ExitInternal, 0
		}
		return 0, 0
	}
	stderr := &stderrWatch{w: os.Stderr, ignore: []byte(prog + ": warning: ")}
	m := launch.Mode{Prog: prog, Stderr: stderr, Coreutils: true, BestEffort: true}
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
		fmt.Fprintf(stderr, "%s: %s\n", prog, ee.Msg)
	}
	// coreutils' close_stdout again: a diagnostic (-v's, a failed start)
	// that could not be written turns an exit into 125, silently. Dying
	// of a signal, timeout never gets there.
	if ee.Signal == 0 && stderr.failed.Load() {
		return supervise.ExitInternal, 0
	}
	return ee.Code, ee.Signal
}

// stderrWatch is the run's stderr, remembering whether a write failed.
// The drop-in's own warnings (lines starting with ignore) are not
// timeout's, and their failure does not count.
type stderrWatch struct {
	w      io.Writer
	ignore []byte
	failed atomic.Bool
}

func (s *stderrWatch) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil && !bytes.HasPrefix(p, s.ignore) {
		s.failed.Store(true)
	}
	return n, err
}

// strerror is the C library's message for err's errno, as error(3)
// prints it: Go's text for it, capitalised as glibc's is.
func strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	msg := errno.Error()
	if msg != "" && msg[0] >= 'a' && msg[0] <= 'z' {
		msg = string(msg[0]-'a'+'A') + msg[1:]
	}
	return msg
}

// shimStore is the registry a drop-in run records in: the same rule as
// every command's (registry.Path).
// Trouble is a warning and the run goes on unrecorded.
func shimStore(m launch.Mode) *registry.Store {
	path := registry.Path("")
	if path == "" {
		m.Warn("running without a record: no registry to use (HOME and XDG_STATE_HOME are not set, and no .claude/ is above the working directory)")
		return nil
	}
	s, err := registry.Open(path)
	if err != nil {
		m.Warn("running without a record: %v", err)
		return nil
	}
	return s
}
