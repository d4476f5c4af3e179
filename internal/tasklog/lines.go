package tasklog

import (
	"bytes"
	"io"
)

// MaxLine is the longest line Lines hands on whole; a longer one is
// handed on in pieces of this length (a command that never prints a
// newline must not make a reader hold all its output).
const MaxLine = 1 << 20

// Lines splits output into lines, a drop note being a line of its own.
// emit gets each line without its newline; the slice is valid only
// during the call.
type Lines struct {
	partial []byte
}

// Feed splits b, keeping a last unfinished line for the next call.
func (l *Lines) Feed(b []byte, emit func([]byte)) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.partial = append(l.partial, b...)
			for len(l.partial) >= MaxLine {
				emit(l.partial[:MaxLine])
				l.partial = append(l.partial[:0], l.partial[MaxLine:]...)
			}
			return
		}
		if len(l.partial) > 0 {
			l.partial = append(l.partial, b[:i]...)
			emit(l.partial)
			l.partial = l.partial[:0]
		} else {
			emit(b[:i])
		}
		b = b[i+1:]
	}
}

// Note ends an unfinished line, then emits note as a line.
func (l *Lines) Note(note string, emit func([]byte)) {
	l.Flush(emit)
	emit([]byte(note))
}

// Flush emits an unfinished line, if any.
func (l *Lines) Flush(emit func([]byte)) {
	if len(l.partial) > 0 {
		emit(l.partial)
		l.partial = l.partial[:0]
	}
}

// Tail is the last n lines of the log at path (n <= 0: all of them), a
// drop note where output was dropped, and whether the log was cut.
func Tail(path string, n int) (lines []string, truncated bool, err error) {
	r, err := Open(path)
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	lines = []string{}
	add := func(b []byte) {
		lines = append(lines, string(b))
		if n > 0 && len(lines) >= 2*n+64 {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	var ls Lines
	err = r.Each(make([]byte, 256<<10), func(data []byte, dropped int64) {
		if dropped > 0 {
			ls.Note(DropNote(dropped, r.Max()), add)
		}
		ls.Feed(data, add)
	})
	if err != nil {
		return nil, false, err
	}
	ls.Flush(add)
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, r.Truncated(), nil
}

// Each reads everything there is now, handing each piece of output (or
// drop, with data empty) to fn; buf is the read buffer.
func (r *Reader) Each(buf []byte, fn func(data []byte, dropped int64)) error {
	for {
		n, dropped, err := r.Next(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fn(buf[:n], dropped)
	}
}
