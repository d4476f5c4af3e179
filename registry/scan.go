package registry

import (
	"errors"
	"fmt"
)

// maxDepth bounds nesting, so a hostile file costs bounded stack and time.
const maxDepth = 256

// scanner validates JSON and splits the registry's two object levels in one
// pass. encoding/json would validate the file, then re-scan every value to
// cut it out, level by level: four passes with a per-byte state machine. A
// registry is read twice per exec, so this is the hot path.
type scanner struct {
	data []byte
	pos  int
}

type member struct {
	key string
	raw []byte
}

var errSyntax = errors.New("invalid JSON")

func (s *scanner) fail(what string) error {
	return fmt.Errorf("%w at byte %d: %s", errSyntax, s.pos, what)
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// object reads an object and returns its members; with split false it
// only validates (members is nil).
func (s *scanner) object(depth int, split bool) ([]member, error) {
	if depth > maxDepth {
		return nil, s.fail("nested too deeply")
	}
	s.pos++ // '{'
	var ms []member
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return ms, nil
	}
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return nil, s.fail("want a member name")
		}
		kstart := s.pos
		plain, err := s.str()
		if err != nil {
			return nil, err
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return nil, s.fail("want ':'")
		}
		s.pos++
		s.skipSpace()
		vstart := s.pos
		if err := s.value(depth + 1); err != nil {
			return nil, err
		}
		if split {
			key := string(s.data[kstart+1 : vstartKeyEnd(s.data, kstart)])
			if !plain {
				key, err = unquote(s.data[kstart : vstartKeyEnd(s.data, kstart)+1])
				if err != nil {
					return nil, err
				}
			}
			ms = append(ms, member{key: key, raw: s.data[vstart:s.pos]})
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return nil, s.fail("unterminated object")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return ms, nil
		default:
			return nil, s.fail("want ',' or '}'")
		}
	}
}

// vstartKeyEnd returns the index of the closing quote of the string that
// starts at i (already validated).
func vstartKeyEnd(data []byte, i int) int {
	for j := i + 1; ; j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
}

// str validates a string at pos and moves past it. plain reports that it
// has no escapes.
func (s *scanner) str() (plain bool, err error) {
	plain = true
	d := s.data
	i := s.pos + 1 // past the opening quote
	for {
		for i < len(d) && !special[d[i]] {
			i++
		}
		if i >= len(d) {
			s.pos = i
			return false, s.fail("unterminated string")
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			return plain, nil
		case c == '\\':
			plain = false
			if i+1 >= len(d) {
				s.pos = i
				return false, s.fail("unterminated escape")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					s.pos = i
					return false, s.fail("bad \\u escape")
				}
				i += 6
			default:
				s.pos = i
				return false, s.fail("bad escape")
			}
		default:
			s.pos = i
			return false, s.fail("control character in string")
		}
	}
}

// special marks the bytes that end a run of plain string content.
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return s.fail("nested too deeply")
	}
	if s.pos >= len(s.data) {
		return s.fail("want a value")
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		_, err := s.object(depth, false)
		return err
	case c == '[':
		return s.array(depth)
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.data)-s.pos >= len(lit) && string(s.data[s.pos:s.pos+len(lit)]) == lit {
				s.pos += len(lit)
				return nil
			}
		}
		return s.fail("want a value")
	}
}

func (s *scanner) array(depth int) error {
	s.pos++ // '['
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.fail("unterminated array")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.fail("want ',' or ']'")
		}
	}
}

func (s *scanner) number() error {
	d := s.data
	i := s.pos
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return s.fail("bad number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return s.fail("bad number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return s.fail("bad number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return nil
}

// splitRegistry validates data as one JSON object and returns its members,
// with the members of "tasks" (when it is an object) split out too.
// tasksKind is the first byte of the "tasks" value (0 when absent).
func splitRegistry(data []byte) (top []member, tasks []member, tasksKind byte, err error) {
	s := &scanner{data: data}
	s.skipSpace()
	if s.pos >= len(data) || data[s.pos] != '{' {
		return nil, nil, 0, s.fail("the top level is not an object")
	}
	top, err = s.object(0, true)
	if err != nil {
		return nil, nil, 0, err
	}
	s.skipSpace()
	if s.pos != len(data) {
		return nil, nil, 0, s.fail("data after the top-level object")
	}
	for i, m := range top {
		if m.key != "tasks" {
			continue
		}
		tasksKind = m.raw[0]
		if tasksKind == '{' {
			ts := &scanner{data: m.raw}
			tasks, err = ts.object(1, true)
			if err != nil {
				return nil, nil, 0, err
			}
		}
		top = append(top[:i:i], top[i+1:]...)
		break
	}
	return top, tasks, tasksKind, nil
}
