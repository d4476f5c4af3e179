package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

var logsCommand = &cli.Command{
	Name:      "logs",
	Usage:     "the output a task kept (exec --log): all of it, its last lines, or as it comes",
	ArgsUsage: "ID",
	Description: `Prints the task's log: its command's stdout and stderr, interleaved as they
arrived, as the command wrote them (nothing is escaped). 'watchdog exec --log'
keeps one. Past its --log-max a log holds the output's head and its newest
tail, and where the rest was dropped this line:
[watchdog: N bytes of output dropped here (--log-max 64MiB)]

--tail N prints the last N lines (a dropped-here line counts as one). --grep
prints only the lines that match REGEX (Go syntax: go doc regexp/syntax); the
dropped-here lines always show. Both: the last N matching lines.

--follow (-f) prints what there is, then the output as it comes, and ends
(exit 0) when the task does: when its supervisor exits, having written the
last of the output (so the output of a 'watchdog kill' is there too). It
never prints a byte twice: if it falls behind a log being cut, it says how
many bytes it missed, in the same words, and goes on from the oldest byte
still kept. It sleeps on inotify and the supervisor's pidfd (macOS: the log
is looked at every 200 ms, the supervisor through kqueue); a task whose
supervisor runs in another PID namespace or on another host ends when its
record says so.

--json prints {id, status, log, lines, truncated}: lines as --tail and --grep
choose them, truncated whether the log was cut. With --follow it prints
nothing until the task ends, then that object for the log as it is then.

Exit 1: no such task, a task that kept no log, a log that is gone.`,
	Flags: []cli.Flag{
		&cli.IntFlag{Name: "tail", Usage: "only the last `N` lines"},
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "then print the output as it comes, until the task ends"},
		&cli.StringFlag{Name: "grep", Usage: "only the lines that match `REGEX`"},
		jsonFlag, registryFlag,
	},
	OnUsageError: usageError,
	Action:       logsAction,
}

// logsResult is logs --json.
type logsResult struct {
	ID        string   `json:"id"`
	Status    string   `json:"status"`
	Log       string   `json:"log"`
	Lines     []string `json:"lines"`
	Truncated bool     `json:"truncated"`
}

// logsOptions is what logs prints: the last tail lines (-1: all), of
// those that match grep (nil: all).
type logsOptions struct {
	tail int
	grep *regexp.Regexp
}

// readBuffer is what one read of a log takes.
const readBuffer = 256 << 10

func logsAction(c *cli.Context) error {
	id, err := oneID(c)
	if err != nil {
		return err
	}
	opts := logsOptions{tail: -1}
	if c.IsSet("tail") {
		if opts.tail = c.Int("tail"); opts.tail < 0 {
			return launch.Failf("", "--tail: %d lines? give 0 or more", opts.tail)
		}
	}
	if c.IsSet("grep") {
		if opts.grep, err = regexp.Compile(c.String("grep")); err != nil {
			return launch.Fail(fmt.Errorf("--grep: %w", err), "the syntax: go doc regexp/syntax")
		}
	}
	store, err := openStoreForReading(c)
	if err != nil {
		return err
	}
	task, err := getTask(store, id)
	if err != nil {
		return err
	}
	if task.Log == "" {
		return &launch.ExitError{Code: 1, Msg: fmt.Sprintf("task %s kept no log", supervise.Quote(id)),
			Hint: "run it with 'watchdog exec --log' to keep its output"}
	}
	if c.Bool("json") {
		return logsJSON(c, store, id, task, opts)
	}
	r, err := openLog(id, task.Log)
	if err != nil {
		return err
	}
	defer r.Close()
	p := &logPrinter{w: bufio.NewWriterSize(c.App.Writer, 64<<10), opts: opts, atLineStart: true}
	follow := c.Bool("follow")
	if err := p.catchUp(r, follow); err != nil {
		return err
	}
	if follow {
		if err := followLog(store, id, task, r, p); err != nil {
			return err
		}
	}
	return p.w.Flush()
}

// openLog opens a task's log; exit 1 when it cannot be read.
func openLog(id, path string) (*tasklog.Reader, error) {
	r, err := tasklog.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &launch.ExitError{Code: 1, Msg: fmt.Sprintf("the log of task %s is not there: %s", supervise.Quote(id), esc(path)),
			Hint: "it was removed, or the task ran on another machine"}
	case err != nil:
		return nil, &launch.ExitError{Code: 1, Msg: fmt.Sprintf("the log of task %s cannot be read: %s", supervise.Quote(id), esc(err.Error()))}
	}
	return r, nil
}

// logsJSON prints the one JSON object; with --follow, once the task ended.
func logsJSON(c *cli.Context, store *registry.Store, id string, task *registry.Task, opts logsOptions) error {
	if c.Bool("follow") {
		if err := awaitEnd(store, id, task, nil, func() error { return nil }); err != nil {
			return err
		}
		if t, err := getTask(store, id); err == nil && t.RunID == task.RunID {
			task = t
		}
	}
	r, err := openLog(id, task.Log)
	if err != nil {
		return err
	}
	defer r.Close()
	res := logsResult{ID: id, Status: task.Status, Log: task.Log, Lines: []string{}}
	p := &logPrinter{opts: opts, collect: func(line []byte) { res.Lines = append(res.Lines, string(line)) }}
	if err := p.catchUp(r, false); err != nil {
		return err
	}
	res.Truncated = r.Truncated()
	return writeJSON(c.App.Writer, res)
}

// logPrinter prints a log: as it is (no --tail or --grep: every byte,
// and a line where output was dropped), or by lines.
type logPrinter struct {
	w    *bufio.Writer
	opts logsOptions
	// collect, if set, takes the lines instead of w (--json).
	collect     func(line []byte)
	lines       tasklog.Lines
	atLineStart bool // what was printed so far ends a line (raw printing)
	// ring holds the last lines while the log is read to its end for
	// --tail.
	ring    [][]byte
	tailing bool
}

// raw: bytes go out as they are read.
func (p *logPrinter) raw() bool { return p.opts.grep == nil && !p.tailing && p.collect == nil }

// catchUp prints what the log holds now. Following (more will come), an
// unfinished last line is kept back while lines are filtered; without a
// filter it is printed as it stands, and the bytes that follow continue it.
func (p *logPrinter) catchUp(r *tasklog.Reader, following bool) error {
	p.tailing = p.opts.tail >= 0
	if err := r.Each(make([]byte, readBuffer), func(data []byte, dropped int64) { p.piece(r, data, dropped) }); err != nil {
		return logError(err)
	}
	rawAfter := p.opts.grep == nil && p.collect == nil
	if !p.tailing {
		if !following {
			p.lines.Flush(p.line)
		}
		return nil
	}
	var pending []byte // the unfinished last line
	if !following || rawAfter {
		p.lines.Flush(func(b []byte) { pending = append([]byte(nil), b...) })
	}
	if pending != nil && (p.opts.grep == nil || p.opts.grep.Match(pending)) {
		p.keep(pending)
	} else {
		pending = nil
	}
	p.tailing = false
	for i, l := range p.ring {
		if pending != nil && i == len(p.ring)-1 && following && rawAfter {
			p.write(l)
			continue
		}
		p.emit(l)
	}
	p.ring = nil
	return nil
}

// piece prints one thing the reader returned.
func (p *logPrinter) piece(r *tasklog.Reader, data []byte, dropped int64) {
	if dropped > 0 {
		note := tasklog.DropNote(dropped, r.Max())
		if p.raw() {
			if !p.atLineStart {
				p.write([]byte("\n"))
			}
			p.write([]byte(note + "\n"))
			return
		}
		p.lines.Flush(p.line)
		p.note([]byte(note))
		return
	}
	if p.raw() {
		p.write(data)
		return
	}
	p.lines.Feed(data, p.line)
}

// line takes one line of output: kept if it matches.
func (p *logPrinter) line(b []byte) {
	if p.opts.grep == nil || p.opts.grep.Match(b) {
		p.note(b)
	}
}

// note takes a line that is printed whatever --grep says.
func (p *logPrinter) note(b []byte) {
	if p.tailing {
		p.keep(append([]byte(nil), b...))
		return
	}
	p.emit(b)
}

// keep adds a line to the --tail ring, which holds the last N.
func (p *logPrinter) keep(b []byte) {
	if p.opts.tail == 0 {
		return
	}
	p.ring = append(p.ring, b)
	if len(p.ring) > p.opts.tail {
		p.ring = p.ring[1:] // append copies the live part when it grows
	}
}

// emit prints (or collects) one whole line.
func (p *logPrinter) emit(b []byte) {
	if p.collect != nil {
		p.collect(b)
		return
	}
	p.write(b)
	p.write([]byte("\n"))
}

func (p *logPrinter) write(b []byte) {
	if len(b) == 0 {
		return
	}
	p.w.Write(b) // an error stays in the bufio.Writer: Flush returns it
	p.atLineStart = b[len(b)-1] == '\n'
}

// pump prints what the log has gained.
func (p *logPrinter) pump(r *tasklog.Reader, buf []byte) error {
	if err := r.Each(buf, func(data []byte, dropped int64) { p.piece(r, data, dropped) }); err != nil {
		return logError(err)
	}
	return p.w.Flush()
}

func logError(err error) error {
	return &launch.ExitError{Code: 1, Msg: esc(err.Error())}
}

// followLog prints the output as it comes until the task has ended, then
// what remains.
func followLog(store *registry.Store, id string, task *registry.Task, r *tasklog.Reader, p *logPrinter) error {
	changed, stop := tasklog.Watch(task.Log)
	defer stop()
	buf := make([]byte, readBuffer)
	if err := awaitEnd(store, id, task, changed, func() error { return p.pump(r, buf) }); err != nil {
		return err
	}
	// Its writer is gone: the rest is all there is.
	if err := p.pump(r, buf); err != nil {
		return err
	}
	if p.opts.grep != nil {
		p.lines.Flush(p.line)
	}
	return nil
}

// awaitEnd returns once the task has ended, calling each (if the log may
// have changed: a wake-up on changed) meanwhile and once at the start. A
// task ends when its supervisor exits (the end is recorded just before,
// and the output is all written); one whose supervisor cannot be seen from
// here, when its record says it ended; one whose supervisor is already
// gone (killed), at once: no one writes its log any more.
func awaitEnd(store *registry.Store, id string, task *registry.Task, changed <-chan struct{}, each func() error) error {
	exited, byRecord := endSignal(task)
	var record <-chan struct{}
	if byRecord {
		c, stop := tasklog.Watch(store.Path)
		defer stop()
		record = c
	}
	for {
		if err := each(); err != nil {
			return err
		}
		if byRecord {
			// After the watch began: a change before it woke no one.
			ended, err := recordEnded(store, id, task)
			if err != nil || ended {
				return err
			}
		} else if exited == nil {
			return nil
		}
		select {
		case <-changed:
		case <-exited:
			return nil
		case <-record:
		}
	}
}

// endSignal says how the end of the task is seen: a channel closed when
// its supervisor exits (nil and !byRecord: it is gone already), or its
// record (byRecord).
func endSignal(task *registry.Task) (exited <-chan struct{}, byRecord bool) {
	s, ok := launch.SupervisorOf(task)
	if !ok {
		return nil, !task.Finished()
	}
	switch launch.SupervisorLiveness(task) {
	case supervise.Gone:
		return nil, false
	case supervise.Alive:
		c, err := supervise.WatchExit(s.PID, s.Ticks)
		switch {
		case err == nil:
			return c, false
		case errors.Is(err, supervise.ErrNotThatProcess):
			return nil, false
		}
		return pollExit(task), false // no pidfd or kqueue watch allowed here
	}
	return nil, !task.Finished() // in another PID namespace or on another host
}

// pollExit is a channel closed once the task's supervisor is gone, looked
// at every registryPollInterval.
func pollExit(task *registry.Task) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		defer close(c)
		for launch.SupervisorAlive(task) {
			time.Sleep(registryPollInterval)
		}
	}()
	return c
}

// recordEnded reports whether the run's record says it ended (or a new
// run of the id replaced it).
func recordEnded(store *registry.Store, id string, run *registry.Task) (bool, error) {
	t, err := getTask(store, id)
	if err != nil {
		var ee *launch.ExitError
		if errors.As(err, &ee) && ee.Code == 1 {
			return true, nil // removed: nothing more to wait for
		}
		return false, err
	}
	return t.Finished() || t.RunID != run.RunID || t.StartedAt != run.StartedAt, nil
}
