package shims

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/supervise"
)

// TimeoutArgs is a parsed `timeout` command line.
type TimeoutArgs struct {
	Duration   time.Duration
	KillAfter  time.Duration
	Signal     syscall.Signal
	Preserve   bool
	Foreground bool
	Verbose    bool
	Help       bool
	Version    bool
	Argv       []string // COMMAND [ARG]...
}

// UsageError is a command line timeout refuses: Msg (possibly empty) is
// printed as "PROG: Msg", then the "Try 'PROG --help'" line; exit 125.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// longOpts is in coreutils' order, which getopt lists the candidates of an
// ambiguous abbreviation in.
var longOpts = []struct {
	name   string
	hasArg bool
	short  byte // the equivalent short option, or 0
}{
	{"kill-after", true, 'k'},
	{"signal", true, 's'},
	{"verbose", false, 'v'},
	{"foreground", false, 'f'},
	{"preserve-status", false, 'p'},
	{"help", false, 'h'},
	{"version", false, 'V'},
}

// ParseTimeout reads args (without argv[0]) as coreutils timeout does:
// options up to the first operand or "--" (no permutation), long options
// abbreviated to any unique prefix, short options bundled, the kill-after
// duration and the signal checked as they are met, then DURATION and at
// least a COMMAND.
func ParseTimeout(args []string) (*TimeoutArgs, error) {
	a := &TimeoutArgs{Signal: syscall.SIGTERM}
	i := 0
	for ; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			i++
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			break // the first operand ends the options
		}
		if strings.HasPrefix(arg, "--") {
			name, val, hasVal := strings.Cut(arg[2:], "=")
			opt, err := matchLong(name, arg)
			if err != nil {
				return nil, err
			}
			full := "--" + longOpts[opt].name
			if !longOpts[opt].hasArg && hasVal {
				return nil, &UsageError{fmt.Sprintf("option '%s' doesn't allow an argument", full)}
			}
			if longOpts[opt].hasArg && !hasVal {
				if i+1 >= len(args) {
					return nil, &UsageError{fmt.Sprintf("option '%s' requires an argument", full)}
				}
				i++
				val = args[i]
			}
			if err := a.apply(longOpts[opt].short, val); err != nil {
				return nil, err
			}
			if a.Help || a.Version {
				return a, nil
			}
			continue
		}
		// A bundle of short options: -vk5, -s KILL, -sKILL.
		for j := 1; j < len(arg); j++ {
			c := arg[j]
			switch c {
			case 'v':
				a.Verbose = true
			case 'k', 's':
				val := arg[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, &UsageError{fmt.Sprintf("option requires an argument -- '%c'", c)}
					}
					i++
					val = args[i]
				}
				if err := a.apply(c, val); err != nil {
					return nil, err
				}
				j = len(arg)
			default:
				return nil, &UsageError{fmt.Sprintf("invalid option -- '%c'", c)}
			}
		}
	}
	rest := args[i:]
	if len(rest) < 2 {
		return nil, &UsageError{} // coreutils prints only the "Try" line
	}
	d, err := supervise.ParseCoreutilsDuration(rest[0])
	if err != nil {
		return nil, &UsageError{"invalid time interval " + supervise.Quote(rest[0])}
	}
	a.Duration = d
	a.Argv = rest[1:]
	return a, nil
}

// matchLong finds a long option by its name or a unique prefix of it.
// arg is the whole command-line word: getopt names it, "=VALUE" and all,
// when the option is unknown or ambiguous.
func matchLong(name, arg string) (int, error) {
	found := -1
	var candidates []string
	for i, o := range longOpts {
		if o.name == name {
			return i, nil
		}
		if strings.HasPrefix(o.name, name) {
			if found < 0 {
				found = i
			}
			candidates = append(candidates, "'--"+o.name+"'")
		}
	}
	switch {
	case len(candidates) == 1:
		return found, nil
	case len(candidates) > 1:
		return 0, &UsageError{fmt.Sprintf("option '%s' is ambiguous; possibilities: %s", arg, strings.Join(candidates, " "))}
	}
	return 0, &UsageError{fmt.Sprintf("unrecognized option '%s'", arg)}
}

func (a *TimeoutArgs) apply(opt byte, val string) error {
	switch opt {
	case 'k':
		d, err := supervise.ParseCoreutilsDuration(val)
		if err != nil {
			return &UsageError{"invalid time interval " + supervise.Quote(val)}
		}
		a.KillAfter = d
	case 's':
		sig, err := supervise.ParseSignal(val)
		if err != nil {
			return &UsageError{supervise.Quote(val) + ": invalid signal"}
		}
		a.Signal = sig
	case 'v':
		a.Verbose = true
	case 'p':
		a.Preserve = true
	case 'f':
		a.Foreground = true
	case 'h':
		a.Help = true
	case 'V':
		a.Version = true
	}
	return nil
}

// Help is coreutils 9.1's `timeout --help`, with the program name as it
// was invoked in the usage lines.
func Help(prog string) string {
	h := fmt.Sprintf(helpText, prog, prog)
	if !englishMessages() {
		h += "Report any translation bugs to <https://translationproject.org/team/>\n"
	}
	return h + helpTail
}

// englishMessages mirrors coreutils' test for leaving out the translation
// line: LC_MESSAGES (after LC_ALL, before LANG) names an en_ locale that
// the C library could load.
func englishMessages() bool {
	name := os.Getenv("LC_ALL")
	if name == "" {
		name = os.Getenv("LC_MESSAGES")
	}
	if name == "" {
		name = os.Getenv("LANG")
	}
	if !strings.HasPrefix(name, "en_") {
		return false
	}
	for _, p := range []string{"/usr/lib/locale/" + name, "/usr/lib/locale/locale-archive"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

const helpText = `Usage: %s [OPTION] DURATION COMMAND [ARG]...
  or:  %s [OPTION]
Start COMMAND, and kill it if still running after DURATION.

Mandatory arguments to long options are mandatory for short options too.
      --preserve-status
                 exit with the same status as COMMAND, even when the
                   command times out
      --foreground
                 when not running timeout directly from a shell prompt,
                   allow COMMAND to read from the TTY and get TTY signals;
                   in this mode, children of COMMAND will not be timed out
  -k, --kill-after=DURATION
                 also send a KILL signal if COMMAND is still running
                   this long after the initial signal was sent
  -s, --signal=SIGNAL
                 specify the signal to be sent on timeout;
                   SIGNAL may be a name like 'HUP' or a number;
                   see 'kill -l' for a list of signals
  -v, --verbose  diagnose to stderr any signal sent upon timeout
      --help        display this help and exit
      --version     output version information and exit

DURATION is a floating point number with an optional suffix:
's' for seconds (the default), 'm' for minutes, 'h' for hours or 'd' for days.
A duration of 0 disables the associated timeout.

Upon timeout, send the TERM signal to COMMAND, if no other SIGNAL specified.
The TERM signal kills any process that does not block or catch that signal.
It may be necessary to use the KILL signal, since this signal can't be caught.

EXIT status:
  124  if COMMAND times out, and --preserve-status is not specified
  125  if the timeout command itself fails
  126  if COMMAND is found but cannot be invoked
  127  if COMMAND cannot be found
  137  if COMMAND (or timeout itself) is sent the KILL (9) signal (128+9)
  -    the exit status of COMMAND otherwise

GNU coreutils online help: <https://www.gnu.org/software/coreutils/>
`

const helpTail = `Full documentation <https://www.gnu.org/software/coreutils/timeout>
or available locally via: info '(coreutils) timeout invocation'
`
