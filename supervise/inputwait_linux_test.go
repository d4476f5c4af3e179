package supervise

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The wording check, list and the idle-timeout notice print.
func TestInputWaitString(t *testing.T) {
	for _, c := range []struct {
		w              InputWait
		str, described string
	}{
		{InputWait{PID: 4242, Comm: "cat", On: "stdin", Detail: "a pipe nobody writes"},
			"waiting for input on stdin (a pipe nobody writes)",
			"pid 4242 (cat) is waiting for input on stdin (a pipe nobody writes)"},
		{InputWait{PID: 7, Comm: "vi", FD: 3, On: "/dev/tty", Detail: "a terminal"},
			"waiting for input on /dev/tty (a terminal)",
			"pid 7 (vi) is waiting for input on /dev/tty (a terminal)"},
		{InputWait{PID: 9, On: "stdin", Detail: "the terminal /dev/pts/3", Others: 1},
			"waiting for input on stdin (the terminal /dev/pts/3) or on 1 other file",
			"pid 9 is waiting for input on stdin (the terminal /dev/pts/3) or on 1 other file"},
		{InputWait{PID: 10, Comm: "node", On: "stdin", Detail: "a socket", Others: 4},
			"waiting for input on stdin (a socket) or on 4 other files",
			"pid 10 (node) is waiting for input on stdin (a socket) or on 4 other files"},
	} {
		if got := c.w.String(); got != c.str {
			t.Errorf("String() = %q, want %q", got, c.str)
		}
		if got := c.w.Describe(); got != c.described {
			t.Errorf("Describe() = %q, want %q", got, c.described)
		}
	}
}

// A cat reading a pipe that only the test holds open waits for input
// nobody in the task will write; once the test is counted in the task, it
// is a pipeline waiting on its producer.
func TestInputWaitPipeNobodyWrites(t *testing.T) {
	t.Parallel()
	r, w := testPipe(t)
	cat := startInputChild(t, r, nil, "cat")
	r.Close()
	want := []InputWait{{PID: cat, Comm: "cat", FD: 0, On: "stdin", Detail: "a pipe nobody writes"}}
	got := waitInputWaits(t, []int{cat}, want)
	if s := got[0].Describe(); s != fmt.Sprintf("pid %d (cat) is waiting for input on stdin (a pipe nobody writes)", cat) {
		t.Errorf("Describe() = %q", s)
	}
	if got := InputWaits([]int{cat, os.Getpid()}); len(got) != 0 {
		t.Errorf("the writer is a member, yet InputWaits = %v", got)
	}
	checkWchanFallback(t, cat, want)
	_ = w
}

// In `sleep 100 | cat` the cat waits on sleep: the task's own flow, not
// input. It is seen (blocked on a pipe pid N (sleep) writes), and not
// reported.
func TestInputWaitPipelineNotReported(t *testing.T) {
	t.Parallel()
	sh := startInputChild(t, nil, nil, "sh", "-c", "sleep 100 | cat")
	var members []int
	var sleep, cat int
	waitUntil(t, "sleep 100 | cat blocked on its pipe", func() bool {
		members, sleep, cat = childrenByComm(sh, "sleep", "cat")
		if sleep == 0 || cat == 0 {
			return false
		}
		return slices.ContainsFunc(scanAll(members), func(r blockedRead) bool {
			return r.PID == cat && r.FD == 0 && r.Detail == fmt.Sprintf("a pipe pid %d (sleep) writes", sleep) && !r.input
		})
	})
	if got := InputWaits(members); len(got) != 0 {
		t.Errorf("InputWaits(sh, sleep, cat) = %v, want none", got)
	}
}

// A cat reading a pseudo-terminal waits for somebody to type.
func TestInputWaitTerminal(t *testing.T) {
	t.Parallel()
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { unix.Close(master) })
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts := "/dev/pts/" + strconv.Itoa(n)
	slave, err := os.OpenFile(pts, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := startInputChild(t, slave, nil, "cat")
	slave.Close()
	want := []InputWait{{PID: cat, Comm: "cat", FD: 0, On: "stdin", Detail: "the terminal " + pts}}
	got := waitInputWaits(t, []int{cat}, want)
	if s, w := got[0].String(), "waiting for input on stdin (the terminal "+pts+")"; s != w {
		t.Errorf("String() = %q, want %q", s, w)
	}
	checkWchanFallback(t, cat, want)
}

// A process that sleeps, or computes, with a pipe nobody writes as its
// stdin is not waiting for input.
func TestInputWaitNotReading(t *testing.T) {
	t.Parallel()
	r, w := testPipe(t)
	sleep := startInputChild(t, r, nil, "sleep", "100")
	busy := startInputChild(t, r, nil, "sh", "-c", "while :; do :; done")
	r.Close()
	waitUntil(t, "sleep asleep and sh computing", func() bool {
		s, err := ReadProc(sleep)
		b, _ := ReadProc(busy)
		return err == nil && s.State == 'S' && readTestFile(sleep, "comm") == "sleep" && b.CPUTicks > 0
	})
	if got := InputWaits([]int{sleep, busy}); len(got) != 0 {
		t.Errorf("InputWaits(sleep, busy loop) = %v, want none", got)
	}
	_ = w
}

// A socket on stdin is input like a pipe: reported when its other end is
// outside the task, not when a member holds it (node's children).
func TestInputWaitSocket(t *testing.T) {
	t.Parallel()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	t.Cleanup(func() { ours.Close() })
	cat := startInputChild(t, theirs, nil, "cat")
	theirs.Close()
	got := waitInputWaits(t, []int{cat}, nil)
	if len(got) != 1 || got[0].On != "stdin" || got[0].FD != 0 {
		t.Fatalf("InputWaits = %v, want cat on stdin", got)
	}
	if got[0].Detail == "a socket" {
		// Without unix_diag the other end is unknown: a member's as well.
		t.Skip("no unix_diag here: the socket's other end cannot be found")
	}
	if got[0].Detail != "a socket nobody writes" {
		t.Errorf("Detail = %q, want %q", got[0].Detail, "a socket nobody writes")
	}
	members := []int{cat, os.Getpid()}
	if got := InputWaits(members); len(got) != 0 {
		t.Errorf("the other end is a member's, yet InputWaits = %v", got)
	}
	want := fmt.Sprintf("a socket connected to pid %d (%s)", os.Getpid(), readTestFile(os.Getpid(), "comm"))
	// The test process is a member now: its own waits are scanned too.
	all := slices.DeleteFunc(scanAll(members), func(r blockedRead) bool { return r.PID != cat })
	if len(all) != 1 || all[0].Detail != want {
		t.Errorf("cat's reads = %v, want one of %s", all, want)
	}
}

// poll, select and epoll_wait name their fds in memory or in fdinfo: the
// helper waits on stdin (a pipe nobody writes) and on fd 3, a pipe it
// writes itself, in a multi-threaded Go process.
func TestInputWaitPolls(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"poll", "select", "epoll"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			r, w := testPipe(t)
			selfR, selfW := testPipe(t)
			cmd := exec.Command(os.Args[0], "-test.run=^TestInputWaitHelper$")
			cmd.Env = append(os.Environ(), "WATCHDOG_INPUTWAIT_HELPER="+mode)
			pid := startInputCmd(t, cmd, r, []*os.File{selfR, selfW})
			r.Close()
			selfR.Close()
			selfW.Close()
			comm := strings.TrimSpace(readTestFile(os.Getpid(), "comm"))
			want := []InputWait{{PID: pid, Comm: comm, FD: 0, On: "stdin", Detail: "a pipe nobody writes", Others: 1}}
			got := waitInputWaits(t, []int{pid}, want)
			if s := got[0].String(); s != "waiting for input on stdin (a pipe nobody writes) or on 1 other file" {
				t.Errorf("String() = %q", s)
			}
			_ = w
		})
	}
}

// TestInputWaitHelper is the child of TestInputWaitPolls: it waits on fds
// 0 and 3 the way WATCHDOG_INPUTWAIT_HELPER says.
func TestInputWaitHelper(t *testing.T) {
	var err error
	switch os.Getenv("WATCHDOG_INPUTWAIT_HELPER") {
	case "":
		return
	case "poll":
		_, err = unix.Poll([]unix.PollFd{{Fd: 0, Events: unix.POLLIN}, {Fd: 3, Events: unix.POLLIN}}, -1)
	case "select":
		var set unix.FdSet
		set.Set(0)
		set.Set(3)
		_, err = unix.Select(4, &set, nil, nil, nil)
	case "epoll":
		var ep int
		if ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err == nil {
			for _, fd := range []int{0, 3} {
				_ = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
			}
			_, err = unix.EpollWait(ep, make([]unix.EpollEvent, 1), -1)
		}
	}
	t.Fatalf("the wait ended: %v", err)
}

// checkWchanFallback: reading /proc/PID/wchan alone finds the same, where
// this kernel names the function (not "0").
func checkWchanFallback(t *testing.T, pid int, want []InputWait) {
	t.Helper()
	wchan := readTestFile(pid, "wchan")
	if wchanKinds[wchan] == 0 {
		t.Logf("wchan %q is not one the fallback knows; not checked", wchan)
		return
	}
	s := newInputScan([]int{pid})
	s.wchanOnly = true
	defer s.close()
	var got []InputWait
	for _, r := range s.scan() {
		if r.input {
			got = append(got, r.InputWait)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("from wchan %q: %v, want %v", wchan, got, want)
	}
}

// scanAll is every read the members are blocked in, input or not.
func scanAll(pids []int) []blockedRead {
	s := newInputScan(pids)
	s.all = true
	defer s.close()
	return s.scan()
}

// waitInputWaits polls InputWaits(pids) until it equals want (or, with
// want nil, until it reports something) and returns it.
func waitInputWaits(t testing.TB, pids []int, want []InputWait) []InputWait {
	t.Helper()
	var got []InputWait
	waitUntil(t, fmt.Sprintf("InputWaits(%v) = %v", pids, want), func() bool {
		got = InputWaits(pids)
		if want == nil {
			return len(got) > 0
		}
		return slices.Equal(got, want)
	})
	return got
}

// waitUntil polls cond every 10ms; after 10s the test fails. The deadline
// only bounds a broken test: success never depends on timing.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
	}
}

func testPipe(t testing.TB) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// startInputChild starts a command in its own process group with stdin,
// and kills the group and reaps the command at cleanup.
func startInputChild(t testing.TB, stdin *os.File, extra []*os.File, name string, args ...string) int {
	t.Helper()
	return startInputCmd(t, exec.Command(name, args...), stdin, extra)
}

func startInputCmd(t testing.TB, cmd *exec.Cmd, stdin *os.File, extra []*os.File) int {
	t.Helper()
	cmd.Stdin = stdin
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return pid
}

// childrenByComm is parent with its children, and the pids of the
// children named a and b (0 if not there yet).
func childrenByComm(parent int, a, b string) (members []int, pa, pb int) {
	members = []int{parent}
	all, _ := Snapshot()
	for _, p := range all {
		if p.PPID != parent {
			continue
		}
		members = append(members, p.PID)
		switch readTestFile(p.PID, "comm") {
		case a:
			pa = p.PID
		case b:
			pb = p.PID
		}
	}
	return members, pa, pb
}

func readTestFile(pid int, name string) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	return strings.TrimSpace(string(b))
}

// What one InputWaits call costs for a task of ten processes: a pipeline
// of nine cats under sh (every cat blocked on a pipe, so every member's
// fds are read to find the writers), and ten sleeps (nothing blocked
// reading: stat and syscall files only).
func BenchmarkInputWaits(b *testing.B) {
	b.Run("pipeline", func(b *testing.B) {
		r, _ := testPipe(b)
		sh := startInputChild(b, r, nil, "sh", "-c", strings.Repeat("cat | ", 8)+"cat")
		var members []int
		waitUntil(b, "nine cats reading", func() bool {
			members, _, _ = childrenByComm(sh, "", "")
			return len(members) == 10 && len(scanAll(members)) == 9
		})
		benchInputWaits(b, members, 1)
	})
	b.Run("sleeping", func(b *testing.B) {
		var pids []int
		for range 10 {
			pids = append(pids, startInputChild(b, nil, nil, "sleep", "100"))
		}
		waitUntil(b, "ten sleeps", func() bool {
			for _, pid := range pids {
				if p, err := ReadProc(pid); err != nil || p.State != 'S' || readTestFile(pid, "comm") != "sleep" {
					return false
				}
			}
			return true
		})
		benchInputWaits(b, pids, 0)
	})
}

func benchInputWaits(b *testing.B, pids []int, want int) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if got := InputWaits(pids); len(got) != want {
			b.Fatalf("InputWaits = %v, want %d", got, want)
		}
	}
}
