// Package cli parses the watchdog's command line: an application of
// commands (and subcommands), each with its own flags, and a help text for
// each generated from their descriptions.
//
// It follows the shape of the subset of github.com/urfave/cli/v2 the
// watchdog used, and the flag syntax of the standard flag package: -name or
// --name, a value after = or as the next argument, flags before the
// positional arguments, "--" ending them. It exists because every start of
// the watchdog paid for that module's initialisation (its templates,
// regular expressions and their dependencies: about 0.35 ms, a fifth of
// what `timeout true` takes in all), and `watchdog exec` is started in
// front of every supervised command.
package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// App is the program: global flags and commands.
type App struct {
	Name        string
	Usage       string
	Version     string
	Description string
	Flags       []Flag
	Commands    []*Command
	// Writer receives help and normal output (default os.Stdout);
	// ErrWriter receives warnings (default os.Stderr).
	Writer    io.Writer
	ErrWriter io.Writer
	// OnUsageError turns a command-line mistake into the error Run returns.
	OnUsageError func(c *Context, err error, isSubcommand bool) error
}

// Command is one subcommand.
type Command struct {
	Name        string
	Aliases     []string
	Usage       string // one line, shown in lists
	ArgsUsage   string // the positional arguments, shown in USAGE
	Description string
	Flags       []Flag
	Subcommands []*Command
	// SkipFlagParsing passes every argument, flags included, to Action.
	SkipFlagParsing bool
	// UseShortOptionHandling lets one-letter boolean flags be combined:
	// -it is -i -t.
	UseShortOptionHandling bool
	Action                 func(*Context) error
	OnUsageError           func(c *Context, err error, isSubcommand bool) error
}

// Names is the command's name and aliases.
func (c *Command) Names() []string { return append([]string{c.Name}, c.Aliases...) }

// Run parses args (args[0] is the program) and runs what they name.
func (a *App) Run(args []string) error {
	if a.Writer == nil {
		a.Writer = os.Stdout
	}
	if a.ErrWriter == nil {
		a.ErrWriter = os.Stderr
	}
	root := &Command{Name: a.Name, Flags: a.Flags, Subcommands: a.Commands, OnUsageError: a.OnUsageError}
	ctx := &Context{App: a, Command: root}
	rest, help, version, err := ctx.parse(args[1:], true)
	if err != nil {
		return a.usageError(ctx, err, false)
	}
	if version {
		fmt.Fprintf(a.Writer, "%s version %s\n", a.Name, a.Version)
		return nil
	}
	if help || len(rest) == 0 {
		if len(rest) > 0 {
			if cmd := find(a.Commands, rest[0]); cmd != nil {
				return showHelp(&Context{App: a, Command: cmd, parent: ctx})
			}
		}
		return showHelp(ctx)
	}
	return ctx.runSub(rest)
}

// runSub runs the subcommand named by args[0] of ctx's command.
func (ctx *Context) runSub(args []string) error {
	a := ctx.App
	if args[0] == "help" {
		if len(args) > 1 {
			if cmd := find(ctx.Command.Subcommands, args[1]); cmd != nil {
				return showHelp(&Context{App: a, Command: cmd, parent: ctx})
			}
		}
		return showHelp(ctx)
	}
	cmd := find(ctx.Command.Subcommands, args[0])
	if cmd == nil {
		err := fmt.Errorf("unknown command %q", args[0])
		if s := suggest(ctx.Command.Subcommands, args[0]); s != "" {
			err = fmt.Errorf("unknown command %q (did you mean %q?)", args[0], s)
		}
		return a.usageError(ctx, err, ctx.parent != nil)
	}
	c := &Context{App: a, Command: cmd, parent: ctx}
	if cmd.SkipFlagParsing {
		c.args = args[1:]
		return cmd.Action(c)
	}
	rest, help, _, err := c.parse(args[1:], false)
	if err != nil {
		return a.usageError(c, err, true)
	}
	if help {
		return showHelp(c)
	}
	if len(cmd.Subcommands) > 0 {
		if len(rest) == 0 {
			return showHelp(c)
		}
		return c.runSub(rest)
	}
	for _, f := range cmd.Flags {
		if s, ok := f.(*StringFlag); ok && s.Required && !c.IsSet(s.Name) {
			return a.usageError(c, fmt.Errorf("required flag --%s not set", s.Name), true)
		}
	}
	c.args = rest
	if cmd.Action == nil {
		return showHelp(c)
	}
	return cmd.Action(c)
}

func (a *App) usageError(c *Context, err error, sub bool) error {
	if h := c.Command.OnUsageError; h != nil {
		return h(c, err, sub)
	}
	if a.OnUsageError != nil {
		return a.OnUsageError(c, err, sub)
	}
	return err
}

func find(cmds []*Command, name string) *Command {
	for _, c := range cmds {
		for _, n := range c.Names() {
			if n == name {
				return c
			}
		}
	}
	return nil
}

// suggest names the command closest to a mistyped one, if one is close.
func suggest(cmds []*Command, typed string) string {
	best, bestD := "", 3
	for _, c := range cmds {
		for _, n := range c.Names() {
			if d := distance(typed, n); d < bestD || (d == bestD && best == "" && strings.HasPrefix(n, typed)) {
				best, bestD = n, d
			}
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Context is one parsed level of the command line: the application or a
// command, its flag values and its positional arguments.
type Context struct {
	App     *App
	Command *Command
	parent  *Context
	values  map[string][]string // by the flag's Name
	args    []string
}

// parse reads the flags at the start of args and returns the rest. -h and
// --help ask for help; at the top level -v and --version for the version.
func (c *Context) parse(args []string, top bool) (rest []string, help, version bool, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return args[i+1:], help, version, nil
		}
		if len(a) < 2 || a[0] != '-' {
			return args[i:], help, version, nil
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		if name == "" || strings.HasPrefix(name, "-") {
			return nil, false, false, fmt.Errorf("bad flag syntax: %s", a)
		}
		f := lookup(c.Command.Flags, name)
		if f == nil && c.Command.UseShortOptionHandling && a[1] != '-' && !hasValue && c.combined(name) {
			for _, r := range name {
				c.set(lookup(c.Command.Flags, string(r)), "true")
			}
			continue
		}
		if f == nil {
			switch {
			case name == "help" || name == "h":
				help = true
				continue
			case top && (name == "version" || name == "v"):
				version = true
				continue
			}
			return nil, false, false, fmt.Errorf("flag provided but not defined: -%s", name)
		}
		if _, isBool := f.(*BoolFlag); isBool {
			if !hasValue {
				value = "true"
			}
		} else if !hasValue {
			if i+1 >= len(args) {
				return nil, false, false, fmt.Errorf("flag needs an argument: -%s", name)
			}
			i++
			value = args[i]
		}
		if err := f.check(value); err != nil {
			return nil, false, false, fmt.Errorf("invalid value %q for flag -%s: %v", value, name, err)
		}
		c.set(f, value)
	}
	return nil, help, version, nil
}

func (c *Context) set(f Flag, value string) {
	if c.values == nil {
		c.values = make(map[string][]string)
	}
	c.values[f.name()] = append(c.values[f.name()], value)
}

// combined reports whether every letter of name is a one-letter boolean
// flag of the command.
func (c *Context) combined(name string) bool {
	for _, r := range name {
		if _, ok := lookup(c.Command.Flags, string(r)).(*BoolFlag); !ok {
			return false
		}
	}
	return len(name) > 1
}

func lookup(flags []Flag, name string) Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// Lineage is this context and its parents, innermost first.
func (c *Context) Lineage() []*Context {
	var out []*Context
	for x := c; x != nil; x = x.parent {
		out = append(out, x)
	}
	return out
}

// definer is the innermost context whose command defines the flag.
func (c *Context) definer(name string) (*Context, Flag) {
	for x := c; x != nil; x = x.parent {
		if f := lookup(x.Command.Flags, name); f != nil {
			return x, f
		}
	}
	return nil, nil
}

// IsSet reports whether the flag was given on the command line, at the
// innermost level that defines it.
func (c *Context) IsSet(name string) bool {
	x, f := c.definer(name)
	return x != nil && len(x.values[f.name()]) > 0
}

// raw is the flag's last given value, or its default.
func (c *Context) raw(name string) string {
	x, f := c.definer(name)
	if x == nil {
		return ""
	}
	if v := x.values[f.name()]; len(v) > 0 {
		return v[len(v)-1]
	}
	return f.defaultValue()
}

// String is a string flag's value.
func (c *Context) String(name string) string {
	return c.raw(name)
}

// Bool is a boolean flag's value.
func (c *Context) Bool(name string) bool {
	v := c.raw(name)
	b, _ := strconv.ParseBool(v)
	return b
}

// Int is an integer flag's value.
func (c *Context) Int(name string) int {
	v := c.raw(name)
	n, _ := strconv.Atoi(v)
	return n
}

// Float64 is a number flag's value.
func (c *Context) Float64(name string) float64 {
	v := c.raw(name)
	n, _ := strconv.ParseFloat(v, 64)
	return n
}

// StringSlice is every value given to a repeatable flag.
func (c *Context) StringSlice(name string) []string {
	x, f := c.definer(name)
	if x == nil {
		return nil
	}
	return append([]string(nil), x.values[f.name()]...)
}

// Args are the positional arguments.
func (c *Context) Args() Args { return Args(c.args) }

// NArg is the number of positional arguments.
func (c *Context) NArg() int { return len(c.args) }

// Args are positional arguments.
type Args []string

// First is the first argument, or "".
func (a Args) First() string { return a.Get(0) }

// Get is argument n, or "".
func (a Args) Get(n int) string {
	if n < len(a) {
		return a[n]
	}
	return ""
}

// Tail is every argument after the first.
func (a Args) Tail() []string {
	if len(a) < 2 {
		return []string{}
	}
	return append([]string(nil), a[1:]...)
}

// Len is the number of arguments.
func (a Args) Len() int { return len(a) }

// Slice returns the arguments.
func (a Args) Slice() []string { return append([]string(nil), a...) }
