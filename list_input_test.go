package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/watchdog-run/watchdog/registry"
)

// A task waiting for input, as list shows it: its status marked and
// still one word, so every column stays where its header is; what waits
// said under the table after a blank line, escaped like every value; the
// other tasks untouched.
func TestListMarksWaitingForInput(t *testing.T) {
	views := []taskView{
		{ID: "reader", Mode: registry.ModeNative, Status: registry.StatusRunning, PID: 4242, Command: "cat", measured: true,
			WaitingForInput: []inputWaitView{{PID: 4243, Comm: "c\x1bt", On: "stdin", Detail: "a pipe nobody writes",
				Text: "pid 4243 (c\x1bt) is waiting for input on stdin (a pipe nobody writes)"}}},
		{ID: "busy", Mode: registry.ModeNative, Status: registry.StatusRunning, PID: 4300, Command: "make", measured: true},
	}
	var b bytes.Buffer
	printList(&b, views, false, 0)
	table, notes, ok := strings.Cut(b.String(), "\n\n")
	if !ok || notes != "* reader: pid 4243 (c\\033t) is waiting for input on stdin (a pipe nobody writes)\n" {
		t.Fatalf("no note under the table, after a blank line:\n%s", b.String())
	}
	lines := strings.Split(table, "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for 2 tasks:\n%s", len(lines), table)
	}
	for i, want := range []string{"STATUS", "running*", "running"} {
		if f := strings.Fields(lines[i]); len(f) < 3 || f[2] != want {
			t.Errorf("line %d: status %q, want %q:\n%s", i, f, want, table)
		}
	}
	header := lines[0]
	for _, l := range lines[1:] {
		for _, col := range []string{"PID/CONTAINER", "COMMAND"} {
			at := strings.Index(header, col)
			if len(l) <= at || l[at-1] != ' ' || l[at] == ' ' {
				t.Errorf("%s is not under its header:\n%s\n%s", col, header, l)
			}
		}
	}

	// Nothing waits: no note, no blank line.
	b.Reset()
	printList(&b, views[1:], false, 0)
	if strings.Contains(b.String(), "\n\n") || strings.Contains(b.String(), "*") {
		t.Errorf("a note without a task waiting:\n%s", b.String())
	}
}

// waiting_for_input is in the JSON only when something waits.
func TestWaitingForInputJSON(t *testing.T) {
	v := taskView{ID: "t", Mode: registry.ModeNative, Status: registry.StatusRunning, measured: true}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "waiting_for_input") {
		t.Errorf("waiting_for_input without a wait: %s", b)
	}
	v.WaitingForInput = []inputWaitView{{PID: 7, Comm: "vim", FD: 0, On: "stdin", Detail: "the terminal /dev/pts/3", Text: "pid 7 (vim) is waiting for input on stdin (the terminal /dev/pts/3)"}}
	b, err = json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `"waiting_for_input":[{"pid":7,"comm":"vim","fd":0,"on":"stdin","detail":"the terminal /dev/pts/3","text":"pid 7 (vim) is waiting for input on stdin (the terminal /dev/pts/3)"}]`
	if !strings.Contains(string(b), want) {
		t.Errorf("JSON %s\nwant it to hold %s", b, want)
	}
}
