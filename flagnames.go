package main

import "github.com/urfave/cli/v2"

// urfave/cli works a flag's names out again, through a regular expression,
// every time it looks a flag up, and on every run it looks up every flag
// of the command once per flag: a command's parse grew with the square of
// its options (exec's doubled, to 0.27 ms, when #14 and #15 added a dozen).
// The flags a command is run with carry their names worked out once.

type (
	stringFlag struct {
		*cli.StringFlag
		names []string
	}
	boolFlag struct {
		*cli.BoolFlag
		names []string
	}
	intFlag struct {
		*cli.IntFlag
		names []string
	}
	float64Flag struct {
		*cli.Float64Flag
		names []string
	}
	stringSliceFlag struct {
		*cli.StringSliceFlag
		names []string
	}
)

func (f *stringFlag) Names() []string      { return f.names }
func (f *boolFlag) Names() []string        { return f.names }
func (f *intFlag) Names() []string         { return f.names }
func (f *float64Flag) Names() []string     { return f.names }
func (f *stringSliceFlag) Names() []string { return f.names }

// withNames returns flags with their names cached; a kind of flag not
// listed here keeps urfave/cli's lookup.
func withNames(flags []cli.Flag) []cli.Flag {
	out := make([]cli.Flag, len(flags))
	for i, f := range flags {
		names := f.Names()
		switch t := f.(type) {
		case *cli.StringFlag:
			out[i] = &stringFlag{t, names}
		case *cli.BoolFlag:
			out[i] = &boolFlag{t, names}
		case *cli.IntFlag:
			out[i] = &intFlag{t, names}
		case *cli.Float64Flag:
			out[i] = &float64Flag{t, names}
		case *cli.StringSliceFlag:
			out[i] = &stringSliceFlag{t, names}
		default:
			out[i] = f
		}
	}
	return out
}
