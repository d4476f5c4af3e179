package outputflag

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
)

// parse runs args through a command that takes the flags, as exec and
// docker-run do, and returns what Parse read and the command's arguments.
func parse(args ...string) (launch.OutputOptions, []string, error) {
	var out launch.OutputOptions
	var rest []string
	app := &cli.App{
		Writer: io.Discard, ErrWriter: io.Discard,
		ExitErrHandler: func(*cli.Context, error) {}, // the error is the test's
		Commands: []*cli.Command{{
			Name: "run", Flags: Flags(),
			Action: func(c *cli.Context) error {
				rest = c.Args().Slice()
				return Parse(c, &out, "EXAMPLE")
			},
		}},
	}
	err := app.Run(append([]string{"app", "run"}, args...))
	return out, rest, err
}

func TestParse(t *testing.T) {
	abs, _ := filepath.Abs("out.log")
	for _, c := range []struct {
		args []string
		env  string // WATCHDOG_IDLE_TIMEOUT
		want launch.OutputOptions
		rest string
		err  string
	}{
		{args: []string{"cmd"}, want: launch.OutputOptions{LogMax: 64 << 20}, rest: "cmd"},
		// A bare --log takes no value: the next word is the command.
		{args: []string{"--log", "make", "test"}, want: launch.OutputOptions{Log: LogDefault, LogMax: 64 << 20}, rest: "make test"},
		{args: []string{"--log=out.log", "--log-max", "2m", "cmd"}, want: launch.OutputOptions{Log: abs, LogChosen: true, LogMax: 2 << 20}, rest: "cmd"},
		{args: []string{"--idle-timeout", "1.5", "cmd"}, want: launch.OutputOptions{LogMax: 64 << 20, Idle: 1500 * time.Millisecond}, rest: "cmd"},
		{args: []string{"cmd"}, env: "2m", want: launch.OutputOptions{LogMax: 64 << 20, Idle: 2 * time.Minute}, rest: "cmd"},
		{args: []string{"--idle-timeout", "0", "cmd"}, env: "2m", want: launch.OutputOptions{LogMax: 64 << 20}, rest: "cmd"},
		{args: []string{"--log=", "cmd"}, err: "is not a file name"},
		{args: []string{"--log-max", "2m", "cmd"}, err: "--log-max needs --log"},
		{args: []string{"--log", "--log-max", "lots", "cmd"}, err: "--log-max: invalid size"},
		{args: []string{"--idle-timeout", "soon", "cmd"}, err: "--idle-timeout: invalid duration"},
		{args: []string{"cmd"}, env: "nope", err: "WATCHDOG_IDLE_TIMEOUT (--idle-timeout): invalid duration"},
	} {
		t.Setenv(launch.EnvIdleTimeout, c.env)
		if c.env == "" {
			launch.DropEmptyEnv()
		}
		got, rest, err := parse(c.args...)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want %q", c.args, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.err == "" && (got != c.want || strings.Join(rest, " ") != c.rest):
			t.Errorf("%q: %+v, args %q; want %+v, %q", c.args, got, rest, c.want, c.rest)
		}
	}
}
