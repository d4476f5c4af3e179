package tasklog

import (
	"bytes"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultMax is the cap of a log when --log-max is not given.
const DefaultMax int64 = 64 << 20

// MinMax is the smallest cap: room for a head, the marker and a tail.
const MinMax int64 = 4 << 10

// PathFor is the default log of a run: beside the registry,
// <dir of registryPath>/watchdog-logs/<id>.<runID>.log.
func PathFor(registryPath, id, runID string) string {
	return filepath.Join(filepath.Dir(registryPath), "watchdog-logs", id+"."+runID+".log")
}

// The marker line, in full:
//
//	[watchdog: N bytes of output dropped here, after its first H (--log-max SIZE)]
//
// then spaces up to the width chosen when it was first written, then a
// newline. N is the count of bytes dropped, H the length of the head, so
// the kept tail begins at output byte H+N. While the writer cuts the log
// (a few milliseconds) "dropped" reads "being dropped" and N is already
// the new count: readers wait for the line to read "dropped" again.
//
// The marker text always starts a line: when the head does not end with a
// newline, one is inserted before it (at file offset H). A marker is
// genuine only where it says it is, at file offset H or H+1: the same
// words printed by the command elsewhere (a task that ran `watchdog logs`)
// are output.
const (
	markerPrefix = "[watchdog: "
	markerDone   = " bytes of output dropped here, after its first "
	markerBusy   = " bytes of output being dropped here, after its first "
	markerMax    = " (--log-max "
	markerEnd    = ")]"
	// maxDigits is the width of the largest int64.
	maxDigits = 19
	// markerLimit bounds the marker line a reader looks at.
	markerLimit = 256
)

// needle is what a reader looks for: the marker text always follows a
// newline.
var needle = []byte("\n" + markerPrefix)

// marker is one reading of the marker line.
type marker struct {
	dropped int64  // N
	head    int64  // H
	busy    bool   // the writer is cutting the log
	max     string // the cap as the marker says it
	width   int64  // the line's length with padding and newline
}

// tailStart is the output offset of the first byte kept after the marker.
func (m marker) tailStart() int64 { return m.head + m.dropped }

// markerText is the marker without padding or newline.
func markerText(dropped, head int64, max string, busy bool) string {
	mid := markerDone
	if busy {
		mid = markerBusy
	}
	return markerPrefix + strconv.FormatInt(dropped, 10) + mid + strconv.FormatInt(head, 10) + markerMax + max + markerEnd
}

// markerWidth is the width of a log's marker line: room for the longest
// count, busy or not, so that it never has to move.
func markerWidth(head int64, max string) int64 {
	return int64(len(markerText(0, head, max, true))) + maxDigits - 1 + 1
}

// markerLine renders the marker padded to width (newline included).
func markerLine(dropped, head int64, max string, busy bool, width int64) []byte {
	b := make([]byte, 0, width)
	b = append(b, markerText(dropped, head, max, busy)...)
	for int64(len(b)) < width-1 {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// parseMarker reads a marker line at the start of b; false if b does not
// start with a whole one.
func parseMarker(b []byte) (marker, bool) {
	var m marker
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return m, false
	}
	m.width = int64(nl + 1)
	s := bytes.TrimRight(b[:nl], " ")
	var ok bool
	if s, ok = cut(s, markerPrefix); !ok {
		return m, false
	}
	if m.dropped, s, ok = number(s); !ok {
		return m, false
	}
	if t, ok := cut(s, markerDone); ok {
		s = t
	} else if t, ok := cut(s, markerBusy); ok {
		s, m.busy = t, true
	} else {
		return m, false
	}
	if m.head, s, ok = number(s); !ok {
		return m, false
	}
	if s, ok = cut(s, markerMax); !ok || !bytes.HasSuffix(s, []byte(markerEnd)) {
		return m, false
	}
	m.max = string(s[:len(s)-len(markerEnd)])
	if m.max == "" || bytes.ContainsAny([]byte(m.max), "()") || m.dropped <= 0 || m.head <= 0 {
		return m, false
	}
	return m, true
}

func cut(s []byte, prefix string) ([]byte, bool) {
	if !bytes.HasPrefix(s, []byte(prefix)) {
		return s, false
	}
	return s[len(prefix):], true
}

// number reads the decimal at the start of s.
func number(s []byte) (int64, []byte, bool) {
	i := 0
	for i < len(s) && i <= maxDigits && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > maxDigits {
		return 0, s, false
	}
	n, err := strconv.ParseInt(string(s[:i]), 10, 64)
	return n, s[i:], err == nil
}

// FormatMax says a cap as the marker does: 64MiB, 4KiB, or bytes.
func FormatMax(max int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if max >= u.size && max%u.size == 0 {
			return strconv.FormatInt(max/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(max, 10)
}

// parseMax reads a cap as FormatMax says it; 0 if it is not one.
func parseMax(s string) int64 {
	mult := int64(1)
	for unit, size := range map[string]int64{"TiB": 1 << 40, "GiB": 1 << 30, "MiB": 1 << 20, "KiB": 1 << 10} {
		if t, ok := strings.CutSuffix(s, unit); ok {
			s, mult = t, size
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult || FormatMax(n*mult) != s+unitOf(mult) {
		return 0
	}
	return n * mult
}

func unitOf(mult int64) string {
	return map[int64]string{1: "", 1 << 10: "KiB", 1 << 20: "MiB", 1 << 30: "GiB", 1 << 40: "TiB"}[mult]
}

// window is how far from the byte count a writer looks for a line
// boundary to cut at.
func window(max int64) int64 { return min(max/16, 64<<10) }

// genuine reports whether a marker parsed at file offset q is the one a
// writer wrote there: where it says, as wide as a writer makes it, the
// head as long as its cap makes heads. (A command can still print a
// perfect one into its own log, and fool the readers of that log only.)
func (m marker) genuine(q int64) bool {
	max := parseMax(m.max)
	return (m.head == q || m.head == q-1) && max >= MinMax &&
		m.width == markerWidth(m.head, m.max) && m.head <= max/2 && m.head >= max/2-window(max)
}

// DropNote is the line a reader shows where output was dropped: the bytes
// the log's cap dropped there, or those a follower fell behind on.
func DropNote(dropped int64, max string) string {
	s := "[watchdog: " + strconv.FormatInt(dropped, 10) + " bytes of output dropped here"
	if max != "" {
		s += " (--log-max " + max + ")"
	}
	return s + "]"
}
