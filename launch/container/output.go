package container

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/launch"
)

// output is what docker-run does with the container's output beyond
// passing it on, when asked: keep it in the task's log (--log), and note
// when its newest byte arrived (--idle-timeout). The output arrives on the
// engine's attach stream, one frame at a time, and each frame is passed on
// to our stream of the same name and then written whole to the log, so the
// log holds both streams interleaved in the order they arrived. Without
// --log and --idle-timeout nothing of this is in the way.
type output struct {
	// log is the task's log; nil: none. mu keeps two writes from mixing:
	// a reconnect attaches anew while the old stream may still be
	// draining.
	log    *tasklog.Writer
	mu     sync.Mutex
	logErr error // the first write that failed; the log is written no further
	closed bool

	last atomic.Int64 // UnixNano of the newest byte, or of the start
}

// newOutput makes the log the options ask for (none if Log is empty).
func newOutput(opts launch.OutputOptions) (*output, error) {
	o := &output{}
	if opts.Log != "" {
		w, err := opts.CreateLog()
		if err != nil {
			return nil, err
		}
		o.log = w
	}
	o.started()
	return o, nil
}

// started restarts the clock of the silence: the container starts now.
func (o *output) started() {
	if o != nil {
		o.last.Store(time.Now().UnixNano())
	}
}

// silent is how long no byte has arrived.
func (o *output) silent(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, o.last.Load()))
}

// streams are the writers the container's stdout and stderr are copied
// to: ours, through o when there is one.
func (o *output) streams() (stdout, stderr io.Writer) {
	if o == nil {
		return os.Stdout, os.Stderr
	}
	return stream{o, os.Stdout}, stream{o, os.Stderr}
}

// stream is one of our streams, with the output noted on the way.
type stream struct {
	o      *output
	caller io.Writer
}

func (s stream) Write(p []byte) (int, error) {
	s.o.last.Store(time.Now().UnixNano())
	n, err := s.caller.Write(p)
	s.o.toLog(p)
	return n, err
}

func (o *output) toLog(p []byte) {
	if o.log == nil || len(p) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.logErr != nil || o.closed {
		return
	}
	if _, err := o.log.Write(p); err != nil {
		o.logErr = err // the caller still gets the output; the end says the log failed
	}
}

// close closes the log; what arrives later (a stream still draining after
// the container was removed) is passed on but not kept. It returns why
// the log is incomplete, if it is.
func (o *output) close() error {
	if o == nil || o.log == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return o.logErr
	}
	o.closed = true
	if err := o.log.Close(); err != nil && o.logErr == nil {
		o.logErr = err
	}
	return o.logErr
}
