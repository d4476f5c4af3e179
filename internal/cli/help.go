package cli

import (
	"strings"
	"text/tabwriter"
)

// showHelp prints the help of ctx's command (or of the application).
func showHelp(ctx *Context) error {
	a, cmd := ctx.App, ctx.Command
	var path []string
	for _, x := range ctx.Lineage() {
		path = append([]string{x.Command.Name}, path...)
	}
	full := strings.Join(path, " ")
	var b strings.Builder
	top := ctx.parent == nil
	usage := cmd.Usage
	if top {
		usage = a.Usage
	}
	b.WriteString("NAME:\n   " + full)
	if usage != "" {
		b.WriteString(" - " + usage)
	}
	b.WriteString("\n\nUSAGE:\n   " + full)
	switch {
	case top:
		b.WriteString(" [global options] command [command options]")
	case len(cmd.Subcommands) > 0:
		b.WriteString(" command [command options]")
	case cmd.SkipFlagParsing:
	default:
		if len(cmd.Flags) > 0 {
			b.WriteString(" [options]")
		}
	}
	if cmd.ArgsUsage != "" {
		b.WriteString(" " + cmd.ArgsUsage)
	}
	b.WriteString("\n")
	if top && a.Version != "" {
		b.WriteString("\nVERSION:\n   " + a.Version + "\n")
	}
	desc := cmd.Description
	if top {
		desc = a.Description
	}
	if desc != "" {
		b.WriteString("\nDESCRIPTION:\n")
		for _, line := range strings.Split(desc, "\n") {
			if line == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("   " + line + "\n")
		}
	}
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	if len(cmd.Subcommands) > 0 {
		b.WriteString("\nCOMMANDS:\n")
		for _, c := range cmd.Subcommands {
			tw.Write([]byte("   " + strings.Join(c.Names(), ", ") + "\t" + c.Usage + "\n"))
		}
		tw.Flush()
	}
	if !cmd.SkipFlagParsing {
		if top {
			b.WriteString("\nGLOBAL OPTIONS:\n")
		} else {
			b.WriteString("\nOPTIONS:\n")
		}
		for _, f := range cmd.Flags {
			names, usage := f.help()
			tw.Write([]byte("   " + names + "\t" + usage + "\n"))
		}
		tw.Write([]byte("   --help, -h\tshow help\n"))
		if top {
			tw.Write([]byte("   --version, -v\tprint the version\n"))
		}
		tw.Flush()
	}
	_, err := a.Writer.Write([]byte(b.String()))
	return err
}
