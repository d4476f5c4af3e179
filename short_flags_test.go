package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestShortFlagsInREADME keeps the README's table of short options true:
// every one-letter option of every command (and the global ones) has a row
// naming its letter, its long name and the command.
func TestShortFlagsInREADME(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ shorts, longs, in []string }
	var rows []row
	code := regexp.MustCompile("`([^`]*)`")
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `-") {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) < 5 {
			continue
		}
		words := func(s string) (out []string) {
			for _, m := range code.FindAllStringSubmatch(s, -1) {
				out = append(out, strings.Fields(strings.ReplaceAll(m[1], ",", " "))...)
			}
			return out
		}
		rows = append(rows, row{words(cols[1]), words(cols[2]), nil})
		if strings.TrimSpace(cols[3]) == "everywhere" {
			rows[len(rows)-1].in = []string{"everywhere"}
		}
		for _, m := range code.FindAllStringSubmatch(cols[3], -1) {
			rows[len(rows)-1].in = append(rows[len(rows)-1].in, m[1])
		}
	}
	if len(rows) == 0 {
		t.Fatal("the README has no table of short options")
	}
	documented := func(cmd, short, long string) bool {
		for _, r := range rows {
			if contains(r.shorts, short) && contains(r.longs, long) && (contains(r.in, cmd) || contains(r.in, "everywhere")) {
				return true
			}
		}
		return false
	}
	checked := 0
	var walk func(path string, flags []cli.Flag, cmds []*cli.Command)
	walk = func(path string, flags []cli.Flag, cmds []*cli.Command) {
		for _, f := range flags {
			names := f.Names()
			for _, n := range names[1:] {
				if len(n) != 1 {
					continue
				}
				checked++
				if !documented(path, "-"+n, "--"+names[0]) {
					t.Errorf("%s: -%s (--%s) is not in the README's table of short options", path, n, names[0])
				}
			}
		}
		for _, c := range cmds {
			walk(strings.TrimPrefix(path+" "+c.Name, "watchdog "), c.Flags, c.Subcommands)
		}
	}
	app := newApp(io.Discard, io.Discard)
	walk("watchdog", append(app.Flags, cli.VersionFlag), app.Commands)
	if checked < 10 {
		t.Fatalf("only %d short options found: the walk is broken", checked)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
