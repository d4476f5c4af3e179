package launch

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// ExitError is how an invocation of either binary ends when it does not
// simply succeed: the status to leave with (or a signal to die of), what to
// say and a hint. It is the one error type the commands return; it
// satisfies urfave/cli's ExitCoder.
type ExitError struct {
	Code   int
	Signal syscall.Signal // die of this signal instead of exiting (a forwarded INT, say)
	Msg    string
	Hint   string
}

func (e *ExitError) Error() string { return e.Msg }

// ExitCode is the status to exit with (cli.ExitCoder).
func (e *ExitError) ExitCode() int { return e.Code }

// Report writes the message and hint, if any, to w as "prog: …".
func (e *ExitError) Report(w io.Writer, prog string) {
	if e.Msg != "" {
		fmt.Fprintf(w, "%s: %s\n", prog, e.Msg)
	}
	if e.Hint != "" {
		fmt.Fprintf(w, "%s: hint: %s\n", prog, e.Hint)
	}
}

// Exit ends with code and nothing to say.
func Exit(code int) *ExitError { return &ExitError{Code: code} }

// Fail is the watchdog's own failure: exit 125 with err and a hint (a
// registry permission error brings its own).
func Fail(err error, hint string) *ExitError {
	var pe *registry.PermError
	if errors.As(err, &pe) && hint == "" {
		hint = pe.Hint
	}
	return &ExitError{Code: supervise.ExitInternal, Msg: err.Error(), Hint: hint}
}

// Failf is Fail with a formatted message.
func Failf(hint, format string, a ...any) *ExitError {
	return &ExitError{Code: supervise.ExitInternal, Msg: fmt.Sprintf(format, a...), Hint: hint}
}

// AsExit is err as an ExitError: itself if it is one, else a failure (125).
func AsExit(err error) *ExitError {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee
	}
	return Fail(err, "")
}
