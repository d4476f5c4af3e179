package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/watchdog-run/watchdog/registry"
)

// The exec side of issue #14 that a script cannot set up: a stdin that is
// a pipe nobody writes (the test holds its write end), and a terminal.
// The rest is testdata/script/exec_output.txtar.

// inputWaitJSON is one entry of check's and list's waiting_for_input.
type inputWaitJSON struct {
	PID    int    `json:"pid"`
	Comm   string `json:"comm"`
	FD     int    `json:"fd"`
	On     string `json:"on"`
	Detail string `json:"detail"`
	Text   string `json:"text"`
}

// A running task whose process is blocked reading a stdin nobody writes:
// check and list say which process waits and on what, in words and in
// JSON; once input ends they say nothing more.
func TestExecWaitingForInputShown(t *testing.T) {
	t.Parallel()
	reg := filepath.Join(t.TempDir(), "process_registry.json")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	task := exec.Command("watchdog", "--registry", reg, "exec", "--id", "reader", "--", "cat")
	task.Stdin = r
	done := startWith(t, task)
	r.Close() // cat has its own

	var view struct {
		PID             int             `json:"pid"`
		WaitingForInput []inputWaitJSON `json:"waiting_for_input"`
	}
	if !waitFor(func() bool {
		out, err := exec.Command("watchdog", "--registry", reg, "check", "reader", "--json").Output()
		return err == nil && json.Unmarshal(out, &view) == nil && len(view.WaitingForInput) > 0
	}) {
		t.Fatalf("check never said cat waits for input")
	}
	want := fmt.Sprintf("pid %d (cat) is waiting for input on stdin (a pipe nobody writes)", view.PID)
	got := view.WaitingForInput
	if len(got) != 1 || got[0] != (inputWaitJSON{PID: view.PID, Comm: "cat", FD: 0, On: "stdin", Detail: "a pipe nobody writes", Text: want}) {
		t.Errorf("check --json: waiting_for_input %+v, want one entry: %s", got, want)
	}

	check := runOK(t, "watchdog", "--registry", reg, "check", "reader")
	if !strings.Contains(check, "\nwaiting:     "+want+"\n") {
		t.Errorf("check does not say %q:\n%s", want, check)
	}
	// list: the status marked, still one word; the process named under
	// the table, after a blank line.
	list := runOK(t, "watchdog", "--registry", reg, "list")
	if !regexp.MustCompile(`(?m)^reader +native +running\* +[0-9]+ `).MatchString(list) || !strings.HasSuffix(list, "\n\n* reader: "+want+"\n") {
		t.Errorf("list does not mark the task and say %q:\n%s", want, list)
	}
	var all struct {
		Tasks []struct {
			ID              string          `json:"id"`
			WaitingForInput []inputWaitJSON `json:"waiting_for_input"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(runOK(t, "watchdog", "--registry", reg, "list", "--json")), &all); err != nil {
		t.Fatal(err)
	}
	if len(all.Tasks) != 1 || len(all.Tasks[0].WaitingForInput) != 1 || all.Tasks[0].WaitingForInput[0].Text != want {
		t.Errorf("list --json: %+v, want waiting_for_input with %q", all.Tasks, want)
	}

	// Input ends: cat exits 0, and a finished task waits for nothing.
	w.Close()
	if err := <-done; err != nil {
		t.Fatalf("exec: %v", err)
	}
	if out := runOK(t, "watchdog", "--registry", reg, "check", "reader", "--json"); strings.Contains(out, "waiting_for_input") {
		t.Errorf("a finished task still waits for input:\n%s", out)
	}
	if out := runOK(t, "watchdog", "--registry", reg, "list"); strings.Contains(out, "*") {
		t.Errorf("list still marks a task:\n%s", out)
	}
}

// The idle timeout of a command blocked reading a stdin nobody writes
// says why it was silent, on stderr and in the record's error. (The one
// assumption on time: cat reaches its read within the 2 s.)
func TestExecIdleWaitingForInput(t *testing.T) {
	t.Parallel()
	reg := filepath.Join(t.TempDir(), "process_registry.json")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := exec.Command("watchdog", "--registry", reg, "exec", "--id", "idle", "--idle-timeout", "2", "--", "cat")
	cmd.Stdin = r
	out, err := cmd.CombinedOutput()
	if got := statusOf(err); got != "124" {
		t.Fatalf("exec exited %s, want 124\n%s", got, out)
	}
	task := readTask(t, reg, "idle")
	waiting := fmt.Sprintf("pid %d (cat) is waiting for input on stdin (a pipe nobody writes)", task.Native.PID)
	want := "watchdog: no output for 2s (--idle-timeout): ending the command\nwatchdog: " + waiting + "\n"
	if !strings.Contains(string(out), want) {
		t.Errorf("stderr does not say\n%s\nit says\n%s", want, out)
	}
	if task.Status != registry.StatusFailed || task.Reason != registry.ReasonIdle || task.Error != "no output for 2s; "+waiting {
		t.Errorf("recorded %s (%s), error %q; want failed (idle), error %q", task.Status, task.Reason, task.Error, "no output for 2s; "+waiting)
	}
}

// Under a terminal (script(1) makes one): with --foreground and --log the
// command still reads the terminal on stdin while its output, now a pipe,
// reaches the terminal and the log; without --foreground, a read of the
// terminal that the idle timeout ends is said to be one, and with it, so
// is a read of /dev/tty.
func TestExecOutputUnderTerminal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logFile := filepath.Join(dir, "fg.log")
	out := underTerminal(t, dir, "hello\n", `watchdog exec --foreground --timeout 20 --log=`+logFile+` -- sh -c '`+
		`test -t 0 && echo stdin-terminal; test -t 1 || echo stdout-pipe; read x; echo got=$x'; echo exit=$?`)
	for _, want := range []string{"stdin-terminal", "stdout-pipe", "got=hello", "exit=0"} {
		if !strings.Contains(out, want+"\r\n") {
			t.Errorf("no %s on the terminal:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(logFile); err != nil || string(b) != "stdin-terminal\nstdout-pipe\ngot=hello\n" {
		t.Errorf("the log: %q %v", b, err)
	}

	out = underTerminal(t, dir, "", `watchdog exec --idle-timeout 1 -- sh -c 'read x'; echo exit=$?`)
	if !regexp.MustCompile(`watchdog: pid [0-9]+ \(sh\) is waiting for input on stdin \(the terminal /dev/pts/[0-9]+\)\r\n`).MatchString(out) || !strings.Contains(out, "exit=124") {
		t.Errorf("the idle timeout does not say sh reads the terminal:\n%s", out)
	}
	out = underTerminal(t, dir, "", `watchdog exec --foreground --idle-timeout 1 -- head -c 1 /dev/tty; echo exit=$?`)
	if !regexp.MustCompile(`watchdog: pid [0-9]+ \(head\) is waiting for input on /dev/tty \(a terminal\)\r\n`).MatchString(out) || !strings.Contains(out, "exit=124") {
		t.Errorf("the idle timeout does not say head reads /dev/tty:\n%s", out)
	}
}

// underTerminal runs a shell command line under script(1), in a terminal
// of its own, typing input; the terminal's input stays open (an end of
// input would end a read) until the line is done. It returns what the
// terminal showed.
func underTerminal(t *testing.T, dir, input, line string) string {
	t.Helper()
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script(1) (util-linux, Debian's bsdutils) is needed for this test: %v", err)
	}
	cmd := exec.Command(scriptBin, "-qec", line, "/dev/null")
	cmd.Env = append(os.Environ(), "WATCHDOG_REGISTRY="+filepath.Join(dir, "r.json"))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := in.Write([]byte(input)); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

// startWith starts cmd, its output discarded; the channel gets its end.
// A command still running when the test ends is killed.
func startWith(t *testing.T, cmd *exec.Cmd) <-chan error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	return done
}

// runOK runs a command that must succeed and returns its stdout.
func runOK(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// readTask reads one task from the registry at reg.
func readTask(t *testing.T, reg, id string) *registry.Task {
	t.Helper()
	s, err := registry.OpenForReading(reg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	task, err := r.Get(id)
	if err != nil || task == nil || task.Native == nil {
		t.Fatalf("task %s: %v %+v", id, err, task)
	}
	return task
}
