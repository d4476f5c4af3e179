package supervise

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Output passes the command's stdout and stderr through the watchdog, for
// a log (--log) or to notice silence (--idle-timeout). The command writes
// into two pipes; a goroutine per pipe copies what arrives to the caller's
// stream of the same name, unchanged and as it arrives, and to the log.
// Without an Output the command writes to the caller's streams directly
// and nothing is copied.
type Output struct {
	// childOut and childErr are the pipes' write ends, the command's
	// stdout and stderr; the supervisor closes its copies once the
	// command started, so the copies end when the tree has closed them.
	childOut, childErr *os.File
	readers            [2]*os.File
	// callers are the streams the output is passed on to (nil: to the log
	// only, for a detached task).
	callers [2]io.Writer
	// log receives both streams interleaved in arrival order, each read
	// written whole; logMu keeps two reads from mixing.
	log    io.Writer
	logMu  sync.Mutex
	logErr error
	// dropped: Finish stopped waiting for the copies, which pass nothing
	// more on (set under logMu, so nothing reaches a log being closed).
	dropped bool

	last atomic.Int64 // UnixNano of the newest byte received or passed on, or of the start
	// busy counts the copies passing a read on: blocked on a caller that
	// reads slowly (a pager, a full pipe), the output is not silent.
	busy   atomic.Int32
	copies sync.WaitGroup
	// tap, if set, sees every read of stream 0 (stdout) or 1 (stderr).
	tap func(stream int, p []byte)
}

// copyBuffer is what one read takes from a pipe. Large reads keep a
// command writing at full speed cheap to copy (one read, two writes).
const copyBuffer = 256 << 10

// pipeSize is asked of the kernel for each pipe (F_SETPIPE_SZ; 1 MiB is
// what an unprivileged process may ask by default): a fast writer blocks
// less often on a full pipe while the copy catches up.
const pipeSize = 1 << 20

// NewOutput makes the pipes. stdout and stderr are the caller's streams
// (nil to pass nothing on); log, if not nil, receives both.
func NewOutput(stdout, stderr io.Writer, log io.Writer) (*Output, error) {
	o := &Output{callers: [2]io.Writer{stdout, stderr}, log: log}
	for i := range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			o.closeAll()
			return nil, err
		}
		setPipeSize(w, pipeSize)
		o.readers[i] = r
		if i == 0 {
			o.childOut = w
		} else {
			o.childErr = w
		}
	}
	o.last.Store(time.Now().UnixNano())
	return o, nil
}

// Tap has f see every read of the output as it passes (stream 0 is
// stdout, 1 stderr), before anything is copied. Set it before the start.
func (o *Output) Tap(f func(stream int, p []byte)) { o.tap = f }

// Notes is a writer into the log, for the watchdog's own messages about
// a task whose stderr is the log (a detached one); nothing without a log.
func (o *Output) Notes() io.Writer { return noteWriter{o} }

type noteWriter struct{ o *Output }

func (w noteWriter) Write(p []byte) (int, error) {
	w.o.toLog(p)
	return len(p), nil
}

// files is what the command gets as stdout and stderr.
func (o *Output) files() (stdout, stderr uintptr) {
	return o.childOut.Fd(), o.childErr.Fd()
}

// start begins copying; the command has its write ends, so the watchdog's
// copies are closed: the copies end once every process of the tree closed
// its own.
func (o *Output) start() {
	o.closeWriteEnds()
	o.last.Store(time.Now().UnixNano()) // silence counts from the start, not from NewOutput
	for i, r := range o.readers {
		o.copies.Add(1)
		go o.copy(i, r, o.callers[i])
	}
}

func (o *Output) closeWriteEnds() {
	for _, f := range []*os.File{o.childOut, o.childErr} {
		if f != nil {
			f.Close()
		}
	}
	o.childOut, o.childErr = nil, nil
}

func (o *Output) closeAll() {
	o.closeWriteEnds()
	for _, r := range o.readers {
		if r != nil {
			r.Close()
		}
	}
}

// copy passes one stream on until its pipe has no writer left. Each read
// goes to the log first, then to the caller: a caller that stops reading
// cannot keep it from the log. When the caller's stream is closed (a
// reader such as `head` went away), the pipe is closed too: the command's
// next write fails with EPIPE (and SIGPIPE), as it would have written to
// the caller's stream itself.
func (o *Output) copy(stream int, r *os.File, caller io.Writer) {
	defer o.copies.Done()
	defer r.Close()
	buf := make([]byte, copyBuffer)
	for {
		n, err := r.Read(buf)
		if n > 0 && !o.pass(stream, buf[:n], caller) {
			return
		}
		if err != nil {
			return // EOF: every writer closed its end
		}
	}
}

// pass hands one read on: to the tap, the log and the caller. False when
// the copy is over: the caller's stream is closed, or Finish stopped
// waiting.
func (o *Output) pass(stream int, p []byte, caller io.Writer) bool {
	o.busy.Add(1)
	o.last.Store(time.Now().UnixNano())
	defer func() {
		o.last.Store(time.Now().UnixNano())
		o.busy.Add(-1)
	}()
	if o.tap != nil {
		o.tap(stream, p)
	}
	o.logMu.Lock()
	dropped := o.dropped
	if !dropped {
		o.writeLog(p)
	}
	o.logMu.Unlock()
	if dropped {
		return false
	}
	if caller != nil {
		if _, err := caller.Write(p); err != nil {
			return false
		}
	}
	return true
}

func (o *Output) toLog(p []byte) {
	o.logMu.Lock()
	defer o.logMu.Unlock()
	o.writeLog(p)
}

// writeLog writes p to the log; logMu is held.
func (o *Output) writeLog(p []byte) {
	if o.log == nil || o.logErr != nil {
		return
	}
	if _, err := o.log.Write(p); err != nil {
		o.logErr = err // the caller still gets the output; the end says the log failed
	}
}

// Silent is how long the output has been silent: no byte arrived on
// either stream, and none is being passed on. A command whose output
// waits for a slow caller (a pager, a full pipe) is not silent.
func (o *Output) Silent(now time.Time) time.Duration {
	if o.busy.Load() > 0 {
		return 0
	}
	return max(0, now.Sub(time.Unix(0, o.last.Load())))
}

// Finish waits until both streams are copied to their end, which is when
// every process holding the pipes has closed them: the tree has ended.
// Output the caller is slow to take is waited for, however long (a pager
// whose reader has not scrolled yet), as the command itself would have
// waited. A process that holds the pipes beyond the tree's end (one kept
// on purpose, or out of the tree's reach) is not waited for once a second
// passes in silence: what it writes later is not passed on, nor logged,
// and it gets EPIPE once the watchdog has gone. It returns the first
// error the log had, if any.
func (o *Output) Finish() error { return o.finish(nil) }

// finish is Finish that also stops waiting when a terminating signal
// arrives on sigs: a caller that never reads must not keep the watchdog
// from recording the end.
func (o *Output) finish(sigs <-chan os.Signal) error {
	done := make(chan struct{})
	go func() { o.copies.Wait(); close(done) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case now := <-tick.C:
			if o.Silent(now) >= time.Second {
				break wait
			}
		case sig := <-sigs:
			if ss, ok := sig.(syscall.Signal); ok && terminating(ss) {
				break wait
			}
		}
	}
	o.logMu.Lock()
	defer o.logMu.Unlock()
	o.dropped = true
	if o.log != nil && o.logErr == nil && o.busy.Load() > 0 {
		// Given up on a caller that did not read: what was still in the
		// pipes never reached the log either.
		o.logErr = errCallerStuck
	}
	return o.logErr
}

var errCallerStuck = errors.New("stopped while the caller was not reading; the output it had not taken yet is missing")

// Abandon closes everything, for a command that did not start.
func (o *Output) Abandon() { o.closeAll() }
