package supervise

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startOutput starts an Output whose command is this test: it returns
// the write ends the command would hold (stdout, stderr).
func startOutput(t *testing.T, stdout, stderr io.Writer, log io.Writer) (*Output, *os.File, *os.File) {
	t.Helper()
	o, err := NewOutput(stdout, stderr, log)
	if err != nil {
		t.Fatal(err)
	}
	dup := func(f *os.File) *os.File {
		fd, err := syscall.Dup(int(f.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		return os.NewFile(uintptr(fd), f.Name())
	}
	out, errw := dup(o.childOut), dup(o.childErr)
	o.start()
	t.Cleanup(func() { out.Close(); errw.Close() })
	return o, out, errw
}

// lockedBuffer is a log the test reads while the copies write it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// A caller that is slow to read (a pager whose reader has not scrolled)
// gets all the output once it reads, however long after the command
// ended: Finish waits for it, and the output is not silent meanwhile
// (the idle timeout must not end a command held up by its reader). It
// gave up after a second, and the caller got 64 KiB of 1 MB.
func TestOutputWaitsForSlowCaller(t *testing.T) {
	t.Parallel()
	cr, cw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	var log lockedBuffer
	o, out, errw := startOutput(t, cw, io.Discard, &log)
	const size = 1 << 20
	if _, err := out.Write(bytes.Repeat([]byte("x"), size)); err != nil {
		t.Fatal(err)
	}
	out.Close()
	errw.Close() // the command has ended
	finished := make(chan error, 1)
	go func() { finished <- o.Finish() }()
	// Longer than Finish's second of silence: a slow reader, not a wait
	// for something to happen.
	select {
	case <-finished:
		t.Fatal("Finish returned while the caller had not taken the output")
	case <-time.After(1500 * time.Millisecond):
	}
	if s := o.Silent(time.Now()); s != 0 {
		t.Errorf("silent for %v while the output waits for the caller", s)
	}
	got := make(chan int64, 1)
	go func() { n, _ := io.Copy(io.Discard, cr); got <- n }()
	if err := <-finished; err != nil {
		t.Fatalf("log: %v", err)
	}
	cw.Close()
	if n := <-got; n != size {
		t.Errorf("the caller got %d bytes of %d", n, size)
	}
	if n := log.Len(); n != size {
		t.Errorf("the log got %d bytes of %d", n, size)
	}
}

// A caller that went away (`| head -1`): the command's writes fail with
// EPIPE, as they would have on the caller's stream; what was read is in
// the log.
func TestOutputCallerGoneIsEPIPE(t *testing.T) {
	t.Parallel()
	cr, cw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cr.Close()
	defer cw.Close()
	var log lockedBuffer
	o, out, errw := startOutput(t, cw, io.Discard, &log)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := out.Write([]byte("line\n"))
		if errors.Is(err, syscall.EPIPE) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("writes go on after the caller went away: %v", err)
		}
	}
	out.Close()
	errw.Close()
	if err := o.Finish(); err != nil {
		t.Fatal(err)
	}
	if log.Len() == 0 {
		t.Error("what was read before the caller went away is not in the log")
	}
}

// Finish stops waiting for a caller that never reads when a terminating
// signal arrives, and says the log misses what the caller had not taken.
func TestOutputFinishGivesUpOnSignal(t *testing.T) {
	t.Parallel()
	cr, cw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	defer cw.Close()
	var log lockedBuffer
	o, out, errw := startOutput(t, cw, io.Discard, &log)
	if _, err := out.Write(bytes.Repeat([]byte("x"), 512<<10)); err != nil {
		t.Fatal(err)
	}
	out.Close()
	errw.Close()
	for deadline := time.Now().Add(10 * time.Second); o.busy.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) { // the copy is blocked on the caller by now
			t.Fatal("the copy never passed the output on")
		}
	}
	sigs := make(chan os.Signal, 2)
	sigs <- syscall.SIGWINCH // not terminating: still waiting
	sigs <- syscall.SIGTERM
	if err := o.finish(sigs); err != errCallerStuck {
		t.Errorf("finish = %v, want %v", err, errCallerStuck)
	}
	if len(sigs) != 0 {
		t.Error("finish returned before the TERM")
	}
}
