package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
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
		{"Run", []*cli.Command{execCommand, dockerRunCommand, killCommand}},
		{"See what runs", []*cli.Command{listCommand, checkCommand, reportCommand, statsCommand, rehydrateCommand}},
		{"Set up", []*cli.Command{shimCommand, completionCommand}},
		{"Sweep and tidy", []*cli.Command{sweepCommand, runCommand, cleanupCommand, registerCommand}},
	} {
		for _, c := range cat.cmds {
			c = fresh(c)
			c.Category = cat.name
			all = append(all, c)
		}
	}
	return append(all, helpCommand())
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
	cp.Flags = slices.Clone(c.Flags)
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
				return launch.Failf("run 'watchdog --help' for the commands", "no command %q", name)
			}
			return cli.ShowCommandHelp(c, name)
		},
	}
}

// completionFlag is how the shell completion scripts ask for candidates.
const completionFlag = "--generate-bash-completion"

// positionalCommands take an id; their options may come before or after it.
var positionalCommands = map[string]bool{"check": true, "status": true, "kill": true, "register": true}

// reorderArgs rearranges argv into the shape urfave/cli parses, so that
// people can type options where they do:
//
//   - a --registry given before the command name is moved after it, where
//     the command's own --registry (which also reads WATCHDOG_REGISTRY)
//     takes it: an option on the line then always beats the environment;
//   - options may follow a task id (`watchdog check T001 --json`): the
//     parser stops at the first positional argument, so the options after
//     it are moved in front of it. A "--" ends the options as usual.
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
	if !positionalCommands[args[i]] {
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
// id) only the commands whose options may follow an id still read options;
// a "--" ends them. nil: no help asked for.
func helpRequest(cmd *cli.Command, rest []string) []string {
	var subs []string
	positional := positionalCommands[cmd.Name]
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
				cmd, positional = sub, positionalCommands[sub.Name]
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
			if _, ok := f.(*cli.BoolFlag); ok {
				return false
			}
			return true
		}
	}
	return false
}
