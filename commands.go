package main

import (
	"strings"

	"github.com/watchdog-run/watchdog/internal/cli"
)

// commands wires every subcommand; each lives in its own cmd_*.go file.
func commands() []*cli.Command {
	return []*cli.Command{
		execCommand,
		dockerRunCommand,
		listCommand,
		checkCommand,
		killCommand,
		sweepCommand,
		rehydrateCommand,
		reportCommand,
		statsCommand,
		cleanupCommand,
		registerCommand,
		shimCommand,
		runCommand,
	}
}

// positionalCommands take an id; their options may come before or after it.
var positionalCommands = map[string]bool{"check": true, "status": true, "kill": true, "register": true}

// reorderArgs lets options follow the id, as people type them
// (`watchdog check T001 --json`): the parser stops at the first positional
// argument, so the options after it are moved in front of it. A "--" ends
// the options as usual.
func reorderArgs(args []string, cmds []*cli.Command) []string {
	i := commandIndex(args)
	if i >= len(args) || !positionalCommands[args[i]] {
		return args
	}
	cmd := findCommand(cmds, args[i])
	if cmd == nil {
		return args
	}
	var flags, pos []string
	rest := args[i+1:]
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
	out := append([]string{}, args[:i+1]...)
	out = append(out, flags...)
	if len(pos) > 0 {
		out = append(out, "--")
		out = append(out, pos...)
	}
	return out
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
