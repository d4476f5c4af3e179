package cli

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

type seen struct {
	cmd  string
	args []string
	ctx  *Context
}

func testApp(out *bytes.Buffer, got *seen) *App {
	action := func(c *Context) error {
		*got = seen{cmd: c.Command.Name, args: c.Args().Slice(), ctx: c}
		return nil
	}
	reg := &StringFlag{Name: "registry", Usage: "registry `PATH`"}
	return &App{
		Name: "prog", Usage: "does things", Version: "1.2",
		Flags:  []Flag{reg},
		Writer: out,
		Commands: []*Command{
			{Name: "exec", Usage: "run", ArgsUsage: "CMD...", Action: action, Flags: []Flag{
				&StringFlag{Name: "timeout", Aliases: []string{"t"}, Usage: "deadline `DURATION`", Value: "0"},
				&BoolFlag{Name: "verbose", Aliases: []string{"v"}},
				&StringSliceFlag{Name: "label", Aliases: []string{"l"}},
				&IntFlag{Name: "n", Value: 3},
				&Float64Flag{Name: "days", Value: 7},
				reg,
			}},
			{Name: "list", Aliases: []string{"ps"}, Action: action, Flags: []Flag{&BoolFlag{Name: "json"}}},
			{Name: "register", Action: action, Flags: []Flag{&StringFlag{Name: "command", Required: true}}},
			{Name: "raw", SkipFlagParsing: true, Action: action},
			{Name: "box", UseShortOptionHandling: true, Action: action, Flags: []Flag{
				&BoolFlag{Name: "interactive", Aliases: []string{"i"}}, &BoolFlag{Name: "tty", Aliases: []string{"t"}},
				&StringFlag{Name: "user", Aliases: []string{"u"}}}},
			{Name: "shim", Subcommands: []*Command{{Name: "install", Action: action, Flags: []Flag{&StringFlag{Name: "dir"}}}}},
		},
	}
}

// TestParse checks which command runs with which positional arguments.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		argv []string
		cmd  string
		args []string
	}{
		{[]string{"exec", "--timeout", "5", "--", "sleep", "1"}, "exec", []string{"sleep", "1"}},
		{[]string{"exec", "-t=5", "sleep", "--timeout", "9"}, "exec", []string{"sleep", "--timeout", "9"}},
		{[]string{"exec", "--", "--not-a-flag"}, "exec", []string{"--not-a-flag"}},
		{[]string{"exec", "-", "x"}, "exec", []string{"-", "x"}},
		{[]string{"--registry", "a.json", "exec", "true"}, "exec", []string{"true"}},
		{[]string{"ps", "--json"}, "list", []string{}},
		{[]string{"raw", "--anything", "-x", "--help"}, "raw", []string{"--anything", "-x", "--help"}},
		{[]string{"shim", "install", "--dir", "d", "npm"}, "install", []string{"npm"}},
	} {
		var out bytes.Buffer
		var got seen
		if err := testApp(&out, &got).Run(append([]string{"prog"}, c.argv...)); err != nil {
			t.Errorf("%q: %v", c.argv, err)
			continue
		}
		if got.cmd != c.cmd || len(got.args) != len(c.args) || len(c.args) > 0 && !reflect.DeepEqual(got.args, c.args) {
			t.Errorf("%q: ran %s %q, want %s %q", c.argv, got.cmd, got.args, c.cmd, c.args)
		}
	}
}

func TestValues(t *testing.T) {
	run := func(argv ...string) *Context {
		t.Helper()
		var out bytes.Buffer
		var got seen
		if err := testApp(&out, &got).Run(append([]string{"prog"}, argv...)); err != nil {
			t.Fatalf("%q: %v", argv, err)
		}
		return got.ctx
	}
	c := run("exec", "--timeout", "5", "--", "sleep")
	if c.String("timeout") != "5" || !c.IsSet("timeout") {
		t.Errorf("--timeout 5: %q set=%v", c.String("timeout"), c.IsSet("timeout"))
	}
	c = run("exec", "true")
	if c.String("timeout") != "0" || c.IsSet("timeout") || c.Int("n") != 3 || c.Float64("days") != 7 {
		t.Errorf("defaults: timeout %q set=%v n=%d days=%v", c.String("timeout"), c.IsSet("timeout"), c.Int("n"), c.Float64("days"))
	}
	c = run("exec", "-v", "-l", "a=1", "--label=b=2,3", "-t", "1", "-t", "2", "true")
	if !c.Bool("verbose") || !reflect.DeepEqual(c.StringSlice("label"), []string{"a=1", "b=2,3"}) || c.String("t") != "2" {
		t.Errorf("repeated: verbose=%v labels=%q timeout=%q", c.Bool("verbose"), c.StringSlice("label"), c.String("t"))
	}
	c = run("exec", "--verbose=false", "-n", "-4", "--days", "0.5", "x")
	if c.Bool("verbose") || c.Int("n") != -4 || c.Float64("days") != 0.5 {
		t.Errorf("values: verbose=%v n=%d days=%v", c.Bool("verbose"), c.Int("n"), c.Float64("days"))
	}
	// A global flag given before the command is found through the lineage;
	// IsSet asks the innermost level defining it, as urfave/cli did.
	c = run("--registry", "a.json", "exec", "true")
	if c.IsSet("registry") || c.Lineage()[1].String("registry") != "a.json" || !c.Lineage()[1].IsSet("registry") {
		t.Errorf("global registry: inner set=%v outer=%q", c.IsSet("registry"), c.Lineage()[1].String("registry"))
	}
	c = run("box", "-it", "-u", "me", "img")
	if !c.Bool("interactive") || !c.Bool("tty") || c.String("user") != "me" || c.Args().First() != "img" || len(c.Args().Tail()) != 0 {
		t.Errorf("combined short flags: i=%v t=%v u=%q args=%q", c.Bool("i"), c.Bool("t"), c.String("u"), c.Args())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"exec", "--bogus", "x"}, "flag provided but not defined: -bogus"},
		{[]string{"exec", "--timeout"}, "flag needs an argument: -timeout"},
		{[]string{"exec", "-n", "x", "y"}, `invalid value "x" for flag -n`},
		{[]string{"exec", "--verbose=maybe", "y"}, `invalid value "maybe" for flag -verbose`},
		{[]string{"exec", "---x"}, "bad flag syntax: ---x"},
		{[]string{"register", "id"}, "required flag --command not set"},
		{[]string{"lsit"}, `unknown command "lsit" (did you mean "list"?)`},
		{[]string{"zzzzzz"}, `unknown command "zzzzzz"`},
		{[]string{"shim", "frob"}, `unknown command "frob"`},
		{[]string{"box", "-iu"}, "flag provided but not defined: -iu"},
	} {
		var out bytes.Buffer
		var got seen
		app := testApp(&out, &got)
		var usage error
		app.OnUsageError = func(_ *Context, err error, _ bool) error { usage = err; return errors.New("usage") }
		err := app.Run(append([]string{"prog"}, c.argv...))
		if err == nil || usage == nil || usage.Error() != c.want && !strings.HasPrefix(usage.Error(), c.want) {
			t.Errorf("%q: err %v, usage error %v; want %q", c.argv, err, usage, c.want)
		}
		if got.cmd != "" {
			t.Errorf("%q: ran %s despite the mistake", c.argv, got.cmd)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want []string
	}{
		{nil, []string{"NAME:\n   prog - does things", "COMMANDS:", "list, ps", "GLOBAL OPTIONS:", "--registry PATH", "--version, -v"}},
		{[]string{"--help"}, []string{"USAGE:\n   prog [global options] command"}},
		{[]string{"help", "exec"}, []string{"NAME:\n   prog exec - run", "USAGE:\n   prog exec [options] CMD...", "--timeout DURATION, -t", `deadline DURATION (default: "0")`}},
		{[]string{"exec", "-h"}, []string{"prog exec - run"}},
		{[]string{"shim"}, []string{"prog shim", "COMMANDS:", "install"}},
		{[]string{"-v"}, []string{"prog version 1.2\n"}},
	} {
		var out bytes.Buffer
		var got seen
		if err := testApp(&out, &got).Run(append([]string{"prog"}, c.argv...)); err != nil {
			t.Errorf("%q: %v", c.argv, err)
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%q: output lacks %q:\n%s", c.argv, w, out.String())
			}
		}
		if got.cmd != "" {
			t.Errorf("%q: ran %s instead of showing help", c.argv, got.cmd)
		}
	}
}
