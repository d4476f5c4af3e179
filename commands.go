package main

import (
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/supervise"
)

// commands wires every subcommand, by category as `watchdog --help` lists
// them; each lives in its own cmd_*.go file.
func commands() []*cli.Command {
	var all []*cli.Command
	for _, cat := range []struct {
		name string
		cmds []*cli.Command
	}{
		// urfave/cli lists categories in name order.
		{"Run", []*cli.Command{execCommand, dockerRunCommand, killCommand, waitCommand}},
		{"See what runs", []*cli.Command{listCommand, checkCommand, reportCommand, statsCommand, rehydrateCommand, logsCommand}},
		{"Set up", []*cli.Command{shimCommand, completionCommand}},
		{"Sweep and tidy", []*cli.Command{sweepCommand, runCommand, cleanupCommand, registerCommand}},
	} {
		for _, c := range cat.cmds {
			c = fresh(c)
			c.Category = cat.name
			refuseStrayArgs(c, c.Name)
			all = append(all, c)
		}
	}
	return append(all, helpCommand())
}

// argKind is what a command takes after its options.
type argKind int

const (
	// argsOwn: the command reads its arguments itself, and what follows
	// the first is its own (exec's and docker-run's command line,
	// completion's shell, help's topic).
	argsOwn argKind = iota
	// argsNone: nothing. A word there is refused (exit 125): urfave/cli
	// would ignore it, and `watchdog cleanup 3` would clean with the
	// default 7 days.
	argsNone
	// argsTrailingOptions: ids or names, which options may follow
	// (`watchdog check T001 --json`, `watchdog shim install pytest
	// --timeout 1m`): reorderArgs moves those options in front of them.
	// The command checks how many it got (oneID, "name at least one").
	argsTrailingOptions
)

// commandArgs says what each command takes after its options, by its path
// as `watchdog --help` names it ("check", "shim install"); an alias is its
// command's. A command not listed is argsOwn.
var commandArgs = map[string]argKind{
	"list": argsNone, "report": argsNone, "stats": argsNone, "rehydrate": argsNone,
	"sweep": argsNone, "run": argsNone, "cleanup": argsNone,
	"shim list": argsNone, "shim dir": argsNone,
	"check": argsTrailingOptions, "kill": argsTrailingOptions, "logs": argsTrailingOptions, "wait": argsTrailingOptions, "register": argsTrailingOptions,
	"shim install": argsTrailingOptions, "shim remove": argsTrailingOptions,
}

// refuseStrayArgs gives each command at or below c (path is c's) that takes
// no arguments a Before hook that refuses them, naming the first.
func refuseStrayArgs(c *cli.Command, path string) {
	if commandArgs[path] == argsNone {
		before := c.Before
		c.Before = func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return launch.Failf("run 'watchdog "+path+" --help' for its options",
					"%s takes no arguments: unexpected %s", path, supervise.Quote(ctx.Args().First()))
			}
			if before != nil {
				return before(ctx)
			}
			return nil
		}
	}
	for _, sub := range c.Subcommands {
		refuseStrayArgs(sub, path+" "+sub.Name)
	}
}

// fresh copies a command definition with its flag list and subcommands:
// urfave/cli appends to those as it runs, and each app starts from the
// definitions as written. A command without subcommands gets no "help"
// subcommand: `watchdog check help` checks the task named help, `shim
// install help` shims help (--help and -h still show its help). One with
// subcommands keeps urfave/cli's (`watchdog shim help`): its self-reference
// cannot reach the next app, which starts from the definitions.
func fresh(c *cli.Command) *cli.Command {
	cp := *c
	cp.HideHelpCommand = len(c.Subcommands) == 0
	cp.Flags = withNames(c.Flags)
	cp.Subcommands = nil
	for _, sub := range c.Subcommands {
		cp.Subcommands = append(cp.Subcommands, fresh(sub))
	}
	return &cp
}

// helpCommand is `watchdog help [COMMAND]`, made afresh for each app.
// urfave/cli's own is one package-level value that its setup appends to
// itself as a subcommand when it runs, so a second run in the same process
// (the fuzz target, in-process tests) would find it cyclic and recurse
// forever writing the fish completion.
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:            "help",
		Aliases:         []string{"h"},
		Usage:           "show the commands, or one command's help",
		ArgsUsage:       "[COMMAND]",
		HideHelp:        true,
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			name := c.Args().First()
			if name == "" {
				return cli.ShowAppHelp(c)
			}
			if findCommand(c.App.Commands, name) == nil {
				return launch.Failf("run 'watchdog --help' for the commands", "no command %s", supervise.Quote(name))
			}
			return cli.ShowCommandHelp(c, name)
		},
	}
}

// completionFlag is how the shell completion scripts ask for candidates.
const completionFlag = "--generate-bash-completion"

// reorderArgs rearranges argv into the shape urfave/cli parses, so that
// people can type options where they do:
//
//   - a --registry given before the command name is moved after it, where
//     the command's own --registry (which also reads WATCHDOG_REGISTRY)
//     takes it: an option on the line then always beats the environment;
//   - options may follow a task id (`watchdog check T001 --json`) or a
//     shim's name (`watchdog shim install pytest --timeout 1m`), in the
//     commands commandArgs lists as argsTrailingOptions: the parser stops
//     at the first positional argument, so the options after it are moved
//     in front of it. A "--" ends the options as usual.
//
// Shell completion asks about the words as typed, so its requests are left
// alone.
func reorderArgs(args []string, cmds []*cli.Command) []string {
	i := commandIndex(args)
	if i >= len(args) || args[i-1] == "--" || args[len(args)-1] == completionFlag {
		return args
	}
	cmd := findCommand(cmds, args[i])
	if cmd == nil {
		return args
	}
	global, registryOpts := args[1:i], []string(nil)
	if hasFlag(cmd, "registry") {
		global, registryOpts = splitRegistry(global)
	}
	out := append([]string{args[0]}, global...)
	out = append(out, args[i])
	out = append(out, registryOpts...)
	rest := args[i+1:]
	if help := helpRequest(cmd, rest); help != nil {
		// urfave/cli would take the arguments after a help flag as a help
		// topic ("No help topic for 'T1'"): help is all that was asked.
		return append(out, help...)
	}
	path := cmd.Name
	for len(rest) > 0 {
		sub := findCommand(cmd.Subcommands, rest[0])
		if sub == nil {
			break
		}
		cmd, path = sub, path+" "+sub.Name
		out, rest = append(out, rest[0]), rest[1:]
	}
	if commandArgs[path] != argsTrailingOptions {
		return append(out, rest...)
	}
	var flags, pos []string
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			pos = append(pos, rest[j+1:]...)
			j = len(rest)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(cmd, strings.TrimLeft(a, "-")) && j+1 < len(rest) {
				j++
				flags = append(flags, rest[j])
			}
		default:
			pos = append(pos, a)
		}
	}
	out = append(out, flags...)
	if len(pos) > 0 {
		out = append(out, "--")
		out = append(out, pos...)
	}
	return out
}

// helpRequest is the help that rest (what follows the command name) asks
// for, as urfave/cli reads it: the subcommands named on the way (`shim
// install --help`) and the -h or --help among the options. Past the first
// argument of a command without subcommands (the command to run, a task
// id) only the commands whose options may follow it still read options;
// a "--" ends them. nil: no help asked for.
func helpRequest(cmd *cli.Command, rest []string) []string {
	var subs []string
	path := cmd.Name
	positional := commandArgs[path] == argsTrailingOptions
	for j := 0; j < len(rest); j++ {
		switch a := rest[j]; {
		case a == "--":
			return nil
		case a == "-h" || a == "--help" || a == "-help" || a == "--h":
			return append(subs, a)
		case strings.HasPrefix(a, "-") && a != "-":
			if !strings.Contains(a, "=") && takesValue(cmd, strings.TrimLeft(a, "-")) {
				j++
			}
		default:
			if sub := findCommand(cmd.Subcommands, a); sub != nil {
				cmd, path = sub, path+" "+sub.Name
				positional = commandArgs[path] == argsTrailingOptions
				subs = append(subs, a)
				continue
			}
			if !positional {
				return nil
			}
		}
	}
	return nil
}

// splitRegistry separates the --registry options (every form the parser
// accepts) from the other global options.
func splitRegistry(global []string) (rest, registry []string) {
	for j := 0; j < len(global); j++ {
		switch a := global[j]; {
		case a == "--registry" || a == "-registry":
			registry = append(registry, global[j:min(j+2, len(global))]...)
			j++
		case strings.HasPrefix(a, "--registry=") || strings.HasPrefix(a, "-registry="):
			registry = append(registry, a)
		default:
			rest = append(rest, a)
		}
	}
	return rest, registry
}

// commandIndex is where the command name stands in args, after the global
// options. It is the one scanner of global options outside the parser, so
// it knows every form the parser accepts: --registry PATH, -registry PATH,
// --registry=PATH.
func commandIndex(args []string) int {
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--registry" || a == "-registry":
			i++
		case a == "--":
			return i + 1
		case strings.HasPrefix(a, "-") && a != "-":
		default:
			return i
		}
	}
	return len(args)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// hasFlag reports whether cmd has a flag of that name.
func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// takesValue reports whether the named flag of cmd expects a value.
func takesValue(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			dg, ok := f.(cli.DocGenerationFlag)
			return !ok || dg.TakesValue()
		}
	}
	return false
}
