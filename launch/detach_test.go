package launch

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchdog-run/watchdog/supervise"
)

// The report pipe is believed only when the descriptor named is the write
// end of the very pipe named: a caller's stray variable, a file or another
// pipe on that descriptor never makes a background half.
func TestIsReportPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ino, err := inode(w)
	if err != nil {
		t.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	defer w2.Close()
	f, err := os.Create(t.TempDir() + "/file")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fino, _ := inode(f)
	closed, _, _ := os.Pipe()
	cfd := int(closed.Fd())
	closed.Close()
	for _, c := range []struct {
		name string
		fd   int
		ino  uint64
		want bool
	}{
		{"the write end", int(w.Fd()), ino, true},
		{"its read end", int(r.Fd()), ino, false},
		{"another pipe's write end", int(w2.Fd()), ino, false},
		{"a file with its own inode", int(f.Fd()), fino, false},
		{"a closed descriptor", cfd, ino, false},
	} {
		if got := isReportPipe(c.fd, c.ino); got != c.want {
			t.Errorf("%s: isReportPipe = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseReportEnv(t *testing.T) {
	for _, c := range []struct {
		v      string
		fd     int
		ino    uint64
		wantOK bool
	}{
		{"3:4242", 3, 4242, true},
		{"7:1", 7, 1, true},
		{"3", 0, 0, false}, // the first release's form proves nothing
		{"3:", 0, 0, false},
		{":5", 0, 0, false},
		{"2:5", 0, 0, false}, // stderr is never the pipe
		{"-1:5", 0, 0, false},
		{"x:5", 0, 0, false},
		{"3:5:6", 0, 0, false},
	} {
		fd, ino, ok := parseReportEnv(c.v)
		if ok != c.wantOK || ok && (fd != c.fd || ino != c.ino) {
			t.Errorf("parseReportEnv(%q) = %d, %d, %v; want %d, %d, %v", c.v, fd, ino, ok, c.fd, c.ino, c.wantOK)
		}
	}
}

// BackgroundFromEnv removes both variables whatever their values, and
// believes none that does not prove itself.
func TestBackgroundFromEnvRemovesVariables(t *testing.T) {
	for _, v := range []string{"3", "3:1", "garbage", ""} {
		t.Setenv(envReport, v)
		t.Setenv(envTie, "1.1")
		if b := BackgroundFromEnv(); b != nil {
			t.Errorf("%s=%q: a background half", envReport, v)
		}
		for _, k := range []string{envReport, envTie} {
			if _, ok := os.LookupEnv(k); ok {
				t.Errorf("%s=%q: %s is still set", envReport, v, k)
			}
		}
	}
	t.Setenv(envTie, "1.1")
	os.Unsetenv(envReport)
	if b := BackgroundFromEnv(); b != nil {
		t.Error("a tie alone made a background half")
	}
	if _, ok := os.LookupEnv(envTie); ok {
		t.Errorf("%s alone is still set", envTie)
	}
}

func TestWithoutDetachEnv(t *testing.T) {
	env := []string{"A=1", envReport + "=3", "B=2", envTie + "=5.6", envReport + "=9:9", envReport + "x=keep"}
	want := []string{"A=1", "B=2", envReport + "x=keep"}
	if got := withoutDetachEnv(env); !slices.Equal(got, want) {
		t.Errorf("withoutDetachEnv = %q, want %q", got, want)
	}
	if env[1] != envReport+"=3" {
		t.Error("withoutDetachEnv changed its argument")
	}
}

func TestResolveTie(t *testing.T) {
	self := os.Getpid()
	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { live.Process.Kill(); live.Wait() }()
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	defer zombie.Wait()
	// Unreaped, it stays a zombie; wait (with a limit) until it is one.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if p, err := supervise.ReadProc(zombie.Process.Pid); err == nil && p.Zombie() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("true did not exit")
		}
	}
	liveTicks, _ := supervise.StartTicks(live.Process.Pid)
	for _, c := range []struct {
		s      string
		parent int
		want   *Tie
		err    string
	}{
		{s: strconv.Itoa(live.Process.Pid), want: &Tie{PID: live.Process.Pid, Ticks: liveTicks}},
		{s: "parent", parent: live.Process.Pid, want: &Tie{PID: live.Process.Pid, Ticks: liveTicks}},
		{s: "1", err: "pid 1 is init"},
		{s: "parent", parent: 1, err: "pid 1 is init"},
		{s: strconv.Itoa(self), err: "is this watchdog itself"},
		{s: "parent", parent: self, err: "is this watchdog itself"},
		{s: strconv.Itoa(zombie.Process.Pid), err: "has already exited"},
		{s: "2147483646", err: "no process 2147483646"},
		{s: "0", err: "neither a pid nor 'parent'"},
		{s: "-3", err: "neither a pid nor 'parent'"},
		{s: "Parent", err: "neither a pid nor 'parent'"},
	} {
		got, err := ResolveTie(c.s, c.parent)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ResolveTie(%q, %d) = %v, %v; want an error with %q", c.s, c.parent, got, err, c.err)
		case c.err == "" && (err != nil || *got != *c.want):
			t.Errorf("ResolveTie(%q, %d) = %v, %v; want %v", c.s, c.parent, got, err, c.want)
		}
	}
}

// --tie given a thread's id: /proc answers for it, but a pidfd cannot be
// had, and it was refused as a process that "has already exited".
func TestResolveTieThread(t *testing.T) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skip("no /proc")
	}
	self := os.Getpid()
	for _, e := range tasks {
		tid, _ := strconv.Atoi(e.Name())
		if tid == self || tid == 0 {
			continue
		}
		_, err := ResolveTie(strconv.Itoa(tid), 0)
		if err == nil || !strings.Contains(err.Error(), "is a thread of process "+strconv.Itoa(self)) {
			t.Fatalf("ResolveTie(thread %d): %v", tid, err)
		}
		return
	}
	t.Skip("this process has one thread")
}
