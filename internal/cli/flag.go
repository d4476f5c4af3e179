package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// Flag is one option of a command.
type Flag interface {
	// Names is the flag's name and aliases.
	Names() []string
	name() string
	check(value string) error
	defaultValue() string
	help() (names, usage string)
}

// StringFlag takes a value.
type StringFlag struct {
	Name     string
	Aliases  []string
	Usage    string // a word in backquotes names the value in help: "deadline `DURATION`"
	Value    string // default
	Required bool
}

// BoolFlag is on when given (or given =true).
type BoolFlag struct {
	Name    string
	Aliases []string
	Usage   string
}

// IntFlag takes an integer.
type IntFlag struct {
	Name    string
	Aliases []string
	Usage   string
	Value   int
}

// Float64Flag takes a number.
type Float64Flag struct {
	Name    string
	Aliases []string
	Usage   string
	Value   float64
}

// StringSliceFlag may be given many times; every value is kept.
type StringSliceFlag struct {
	Name    string
	Aliases []string
	Usage   string
}

func (f *StringFlag) Names() []string      { return append([]string{f.Name}, f.Aliases...) }
func (f *BoolFlag) Names() []string        { return append([]string{f.Name}, f.Aliases...) }
func (f *IntFlag) Names() []string         { return append([]string{f.Name}, f.Aliases...) }
func (f *Float64Flag) Names() []string     { return append([]string{f.Name}, f.Aliases...) }
func (f *StringSliceFlag) Names() []string { return append([]string{f.Name}, f.Aliases...) }

func (f *StringFlag) name() string      { return f.Name }
func (f *BoolFlag) name() string        { return f.Name }
func (f *IntFlag) name() string         { return f.Name }
func (f *Float64Flag) name() string     { return f.Name }
func (f *StringSliceFlag) name() string { return f.Name }

func (f *StringFlag) check(string) error { return nil }
func (f *BoolFlag) check(v string) error {
	_, err := strconv.ParseBool(v)
	return err
}
func (f *IntFlag) check(v string) error {
	_, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("not an integer")
	}
	return nil
}
func (f *Float64Flag) check(v string) error {
	_, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("not a number")
	}
	return nil
}
func (f *StringSliceFlag) check(string) error { return nil }

func (f *StringFlag) defaultValue() string      { return f.Value }
func (f *BoolFlag) defaultValue() string        { return "false" }
func (f *IntFlag) defaultValue() string         { return strconv.Itoa(f.Value) }
func (f *Float64Flag) defaultValue() string     { return strconv.FormatFloat(f.Value, 'g', -1, 64) }
func (f *StringSliceFlag) defaultValue() string { return "" }

func (f *StringFlag) help() (string, string) {
	return flagHelp(f.Names(), f.Usage, "value", quoteDefault(f.Value))
}
func (f *BoolFlag) help() (string, string) { return flagHelp(f.Names(), f.Usage, "", "") }
func (f *IntFlag) help() (string, string) {
	d := ""
	if f.Value != 0 {
		d = strconv.Itoa(f.Value)
	}
	return flagHelp(f.Names(), f.Usage, "value", d)
}
func (f *Float64Flag) help() (string, string) {
	d := ""
	if f.Value != 0 {
		d = f.defaultValue()
	}
	return flagHelp(f.Names(), f.Usage, "value", d)
}
func (f *StringSliceFlag) help() (string, string) {
	return flagHelp(f.Names(), f.Usage, "value", "")
}

func quoteDefault(v string) string {
	if v == "" {
		return ""
	}
	return strconv.Quote(v)
}

// flagHelp renders "--name VALUE, -n VALUE" and the usage text, the word
// in backquotes naming the value (without its quotes in the text).
func flagHelp(names []string, usage, placeholder, def string) (string, string) {
	if i := strings.IndexByte(usage, '`'); i >= 0 {
		if j := strings.IndexByte(usage[i+1:], '`'); j >= 0 {
			placeholder = usage[i+1 : i+1+j]
			usage = usage[:i] + placeholder + usage[i+2+j:]
		}
	}
	parts := make([]string, len(names))
	for i, n := range names {
		dash := "--"
		if len(n) == 1 {
			dash = "-"
		}
		parts[i] = dash + n
		if placeholder != "" && i == 0 {
			parts[i] += " " + placeholder
		}
	}
	if def != "" {
		usage += " (default: " + def + ")"
	}
	return strings.Join(parts, ", "), usage
}
