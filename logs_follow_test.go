package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLogsFollow: `watchdog logs --follow` prints a running task's output
// as it comes (a line written after the follower started reaches it while
// the task still runs), keeps up across the log's cuts, saying what it
// fell behind on once and never printing a line twice, and exits 0 when
// the task has ended, after its last line. The task waits for files the
// test makes once the follower has shown what came before.
func TestLogsFollow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := append(os.Environ(), "WATCHDOG_REGISTRY="+filepath.Join(dir, "reg", "process_registry.json"))
	// 300000 numbers are about 2 MB, twice the cap.
	const script = `echo first; wd-child -until "$1/go"; echo second; wd-child -until "$1/go2"; seq 1 300000; echo last`
	task := exec.Command("watchdog", "exec", "--id", "F", "--log", "--log-max", "1m", "--", "sh", "-c", script, "sh", dir)
	task.Env = env
	taskOut := startPiped(t, task)
	// exec passes the output on: "first" means the task is recorded and
	// its log has it.
	expectLine(t, "the task", taskOut, "first")
	go io.Copy(io.Discard, taskOut)

	follow := exec.Command("watchdog", "logs", "F", "--follow")
	follow.Env = env
	out := startPiped(t, follow)
	expectLine(t, "the follower", out, "first")
	touch(t, filepath.Join(dir, "go"))
	expectLine(t, "the follower", out, "second") // written after it started
	// The rest is read only once the task has ended: meanwhile the
	// follower blocks on its full pipe and the log is cut under it.
	touch(t, filepath.Join(dir, "go2"))
	if err := waitTimeout(task); err != nil {
		t.Fatalf("the task: %v", err)
	}
	rest, err := readAllTimeout(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitTimeout(follow); err != nil {
		t.Fatalf("the follower did not exit 0 once the task ended: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(rest, "\n"), "\n")
	if lines[len(lines)-1] != "last" {
		t.Fatalf("the follower's last line is %q, not the task's", lines[len(lines)-1])
	}
	// The numbers in order, none twice, and one note where the follower
	// fell behind: the numbers after it go on from a later one. A number
	// the drop cut shows as its first digits, just before the note.
	note := regexp.MustCompile(`^\[watchdog: [0-9]+ bytes of output dropped here \(--log-max 1MiB\)\]$`)
	prev, notes, afterNote := 0, 0, false
	for i, l := range lines[:len(lines)-1] {
		if note.MatchString(l) {
			notes++
			afterNote = true
			continue
		}
		if i+1 < len(lines) && note.MatchString(lines[i+1]) && strings.HasPrefix(strconv.Itoa(prev+1), l) {
			continue
		}
		n, err := strconv.Atoi(l)
		switch {
		case err != nil:
			t.Fatalf("line %d: %q", i, l)
		case afterNote && n <= prev:
			t.Fatalf("line %d: %d after %d and a drop: printed twice", i, n, prev)
		case !afterNote && n != prev+1:
			t.Fatalf("line %d: %d after %d, with no note of a drop", i, n, prev)
		}
		prev, afterNote = n, false
	}
	if notes != 1 || prev != 300000 {
		t.Fatalf("%d notes of dropped output (want 1: 2 MB went through a 1 MiB log while the follower was blocked), last number %d", notes, prev)
	}
}

// startPiped starts cmd with its stdout read through the returned reader;
// the process is killed at the end of the test if still running.
func startPiped(t *testing.T, cmd *exec.Cmd) *bufio.Reader {
	t.Helper()
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return bufio.NewReaderSize(pipe, 1<<16)
}

// expectLine reads one line from r and checks it, failing after waitLimit.
func expectLine(t *testing.T, who string, r *bufio.Reader, want string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		l, err := r.ReadString('\n')
		if err != nil {
			l += "<" + err.Error() + ">"
		}
		got <- strings.TrimSuffix(l, "\n")
	}()
	select {
	case l := <-got:
		if l != want {
			t.Fatalf("%s printed %q, want %q", who, l, want)
		}
	case <-time.After(waitLimit):
		t.Fatalf("%s printed no line within %v (want %q)", who, waitLimit, want)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitTimeout waits for cmd, failing after waitLimit.
func waitTimeout(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(waitLimit):
		return errTimeout
	}
}

// readAllTimeout reads r to its end, failing after waitLimit.
func readAllTimeout(r io.Reader) (string, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() { b, err := io.ReadAll(r); done <- result{b, err} }()
	select {
	case res := <-done:
		return string(res.b), res.err
	case <-time.After(waitLimit):
		return "", errTimeout
	}
}

var errTimeout = &timeoutError{}

type timeoutError struct{}

func (*timeoutError) Error() string { return "did not end within the test's limit" }
