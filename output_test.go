package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/watchdog-run/watchdog/registry"
)

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

func hostileViews() []taskView {
	code := 0
	return []taskView{
		{ID: "t1", Mode: registry.ModeNative, Status: registry.StatusCompleted, ExitCode: &code, PID: 4242,
			Command: "echo '\x1b[31mred'"},
		{ID: "t2", Mode: registry.ModeNative, Status: registry.StatusFailed, Reason: registry.ReasonLost,
			Command: "printf 'a\nb\tc'"},
		{ID: "t3", Mode: registry.ModeDocker, Status: registry.StatusRunning, ContainerName: "c\x1b[2J",
			Command: "sleep 1 " + strings.Repeat("x", 80)},
	}
}

// The table under colour: every column of every row starts where its
// header does (colour codes take no width), no control character but the
// colour codes, one line per task.
func TestListAlignedUnderColour(t *testing.T) {
	var b bytes.Buffer
	printList(&b, hostileViews(), true, 0)
	out := b.String()
	if !strings.Contains(out, "\x1b[32mcompleted\x1b[0m") {
		t.Fatalf("no colour:\n%s", out)
	}
	plain := sgr.ReplaceAllString(out, "")
	if i := strings.IndexFunc(plain, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }); i >= 0 {
		t.Errorf("control character %q reaches the terminal:\n%q", plain[i], out)
	}
	lines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines for 3 tasks:\n%s", len(lines), plain)
	}
	header := []rune(lines[0])
	for _, l := range lines[1:] {
		row := []rune(l)
		for k := 1; k < len(header); k++ {
			if header[k-1] == ' ' && header[k] != ' ' && (k >= len(row) || row[k-1] != ' ' || row[k] == ' ') {
				t.Errorf("column at %d of the header is not where the row's is:\n%s\n%s", k, lines[0], l)
				break
			}
		}
	}
	for _, want := range []string{`echo '\033[31mred'`, `printf 'a\nb\tc'`, `c\033[2J`} {
		if !strings.Contains(plain, want) {
			t.Errorf("no %s in\n%s", want, plain)
		}
	}
}

// On a terminal of 100 columns no line is longer (the command is cut);
// elsewhere (width 0) the command is whole.
func TestListCommandFitsTerminal(t *testing.T) {
	var b bytes.Buffer
	printList(&b, hostileViews(), false, 100)
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(l); n > 100 {
			t.Errorf("%d columns: %s", n, l)
		}
	}
	if !strings.Contains(b.String(), "…") {
		t.Errorf("the long command is not cut:\n%s", b.String())
	}
	b.Reset()
	printList(&b, hostileViews(), false, 0)
	if !strings.Contains(b.String(), strings.Repeat("x", 80)+"\n") {
		t.Errorf("the command is cut off a terminal:\n%s", b.String())
	}
}

func TestCheckEscapes(t *testing.T) {
	v := hostileViews()[2]
	v.Labels = map[string]string{"k\x1b": "v\nw", "a": "b"}
	v.Error = "bad\rthing"
	v.Reason = "x\x1b[0m"
	var b bytes.Buffer
	printCheck(&b, v, &registry.Task{Mode: v.Mode, Status: v.Status}, true)
	plain := sgr.ReplaceAllString(b.String(), "")
	if strings.ContainsAny(plain, "\x1b\r") {
		t.Errorf("control character reaches the terminal:\n%q", b.String())
	}
	for _, want := range []string{"label:       a=b\nlabel:       k\\033=v\\nw\n", `error:       bad\rthing`, `container:   c\033[2J`, `status:      running (x\033[0m)`} {
		if !strings.Contains(plain, want) {
			t.Errorf("no %q in\n%s", want, plain)
		}
	}
}

func TestColorOn(t *testing.T) {
	var b bytes.Buffer
	for _, c := range []struct {
		noColor, force, term string
		want                 bool
	}{
		{"", "", "xterm", false}, // not a terminal
		{"", "1", "xterm", true},
		{"", "1", "dumb", true}, // forced
		{"1", "1", "xterm", false},
		{"", "0", "xterm", false},
	} {
		t.Setenv("NO_COLOR", c.noColor)
		t.Setenv("CLICOLOR_FORCE", c.force)
		t.Setenv("TERM", c.term)
		if got := colorOn(&b); got != c.want {
			t.Errorf("NO_COLOR=%q CLICOLOR_FORCE=%q TERM=%s: colour %v, want %v", c.noColor, c.force, c.term, got, c.want)
		}
	}
}

// Durations read as people write them: two units at most, a zero second
// unit left out ("24h", not "24h00m").
func TestHumanDuration(t *testing.T) {
	for secs, want := range map[float64]string{
		5: "5s", 60: "1m", 61: "1m01s", 3600: "1h", 86400: "24h", 90000: "25h",
		5400: "1h30m", 30 * 86400: "30d", 49 * 3600: "2d01h", -90: "-1m30s",
	} {
		if got := humanDuration(secs); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", secs, got, want)
		}
	}
}
