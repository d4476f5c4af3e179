package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/watchdog-run/watchdog/supervise"
)

// Registry is the decoded content of a registry file. Entries are decoded
// lazily: a task is parsed only when asked for, and an entry that nobody
// changed is written back with the exact bytes it was read with.
type Registry struct {
	entries map[string]*entry
	extra   map[string]json.RawMessage // top-level members other than "tasks"
	changed bool
	history map[string]bool // ids read from the history (LoadWithHistory, ReadWithHistory)
}

type entry struct {
	raw   json.RawMessage
	task  *Task
	err   error
	dirty bool
}

// ErrCorrupt is wrapped by errors for content that is not a registry.
var ErrCorrupt = errors.New("not a valid registry")

func newRegistry() *Registry {
	return &Registry{entries: make(map[string]*entry)}
}

// Parse decodes registry content. Empty content is an empty registry.
// Individual task entries are not decoded here; one that fails to decode
// later is reported by Get and kept as it was.
func Parse(data []byte) (*Registry, error) {
	r := newRegistry()
	if len(bytes.TrimSpace(data)) == 0 {
		return r, nil
	}
	top, tasks, kind, err := splitRegistry(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	switch kind {
	case 0, 'n': // absent or null
	case '{':
		for _, m := range tasks {
			r.entries[m.key] = &entry{raw: m.raw} // a duplicate id: the last one wins, as in encoding/json
		}
	default:
		return nil, fmt.Errorf("%w: \"tasks\" is not an object", ErrCorrupt)
	}
	for _, m := range top {
		if r.extra == nil {
			r.extra = make(map[string]json.RawMessage)
		}
		r.extra[m.key] = m.raw
	}
	return r, nil
}

// Len is the number of entries, including ones that do not decode.
func (r *Registry) Len() int { return len(r.entries) }

// IDs returns every entry's id, sorted.
func (r *Registry) IDs() []string {
	ids := make([]string, 0, len(r.entries))
	for id := range r.entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Get returns the task with this id. It returns (nil, nil) when there is
// none, and an error when the entry exists but does not decode as a task.
// The task is shared with the registry: call Put after changing it.
func (r *Registry) Get(id string) (*Task, error) {
	e, ok := r.entries[id]
	if !ok {
		return nil, nil
	}
	if e.task == nil && e.err == nil {
		t := new(Task)
		if err := json.Unmarshal(e.raw, t); err != nil {
			e.err = fmt.Errorf("task %s: %w", supervise.Quote(id), err)
		} else {
			e.task = t
		}
	}
	return e.task, e.err
}

// Put stores t under id, replacing any entry there.
func (r *Registry) Put(id string, t *Task) {
	r.entries[id] = &entry{task: t, dirty: true}
	r.changed = true
}

// PutRaw stores an entry given as the JSON it is to be written with (the
// caller encoded it, to keep the bytes).
func (r *Registry) PutRaw(id string, raw json.RawMessage) {
	r.entries[id] = &entry{raw: raw}
	r.changed = true
}

// Raw returns an entry's bytes as they were read or put raw; ok is false
// for an entry that is absent or changed since.
func (r *Registry) Raw(id string) (json.RawMessage, bool) {
	e, found := r.entries[id]
	if !found || e.dirty {
		return nil, false
	}
	return e.raw, true
}

// Delete removes the entry with this id.
func (r *Registry) Delete(id string) {
	if _, ok := r.entries[id]; ok {
		delete(r.entries, id)
		r.changed = true
	}
}

// Encode renders the registry: one task per line, keys sorted, so the file
// stays readable with a pager and diffs well. Entries that were not changed
// keep their original bytes.
func (r *Registry) Encode() ([]byte, error) {
	ids := r.IDs()
	var buf bytes.Buffer
	buf.Grow(64 + 512*len(ids))
	buf.WriteString(`{"tasks":{`)
	for i, id := range ids {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		k, err := json.Marshal(id)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		e := r.entries[id]
		if e.dirty {
			b, err := json.Marshal(e.task)
			if err != nil {
				return nil, fmt.Errorf("encode task %s: %w", supervise.Quote(id), err)
			}
			buf.Write(b)
		} else {
			buf.Write(e.raw)
		}
	}
	if len(ids) > 0 {
		buf.WriteByte('\n')
	}
	buf.WriteByte('}')
	if len(r.extra) > 0 {
		keys := make([]string, 0, len(r.extra))
		for k := range r.extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name, _ := json.Marshal(k)
			buf.WriteByte(',')
			buf.Write(name)
			buf.WriteByte(':')
			buf.Write(r.extra[k])
		}
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}

// Peek returns an entry's status and run id without decoding the entry
// where it can: scanning a large registry for running tasks stays cheap.
// ok is false for an entry that does not decode.
func (r *Registry) Peek(id string) (status, runID string, ok bool) {
	e, found := r.entries[id]
	if !found {
		return "", "", false
	}
	if e.task != nil {
		return e.task.Status, e.task.RunID, true
	}
	if e.err != nil {
		return "", "", false
	}
	// Fast path: one scan for the two top-level strings.
	if st, ok := topLevelString(e.raw, "status"); ok {
		if run, ok := topLevelString(e.raw, "run_id"); ok || !bytes.Contains(e.raw, []byte(`"run_id"`)) {
			return st, run, true
		}
	}
	var p struct {
		Status string `json:"status"`
		RunID  string `json:"run_id"`
	}
	if err := json.Unmarshal(e.raw, &p); err != nil {
		return "", "", false
	}
	return p.Status, p.RunID, true
}

// topLevelString returns the plain string value of member name at the top
// level of the object raw, scanning once without decoding. It reports false
// when the member is absent, not a string, or escaped: then the caller
// decodes properly.
func topLevelString(raw []byte, name string) (string, bool) {
	depth := 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			end := i + 1
			for end < len(raw) && raw[end] != '"' {
				if raw[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(raw) {
				return "", false
			}
			str := raw[i+1 : end]
			i = end
			if depth != 1 || string(str) != name {
				continue
			}
			// A key at the top level: skip blanks and the colon.
			j := i + 1
			for j < len(raw) && (raw[j] == ' ' || raw[j] == ':' || raw[j] == '\n' || raw[j] == '\t' || raw[j] == '\r') {
				j++
			}
			if j >= len(raw) || raw[j] != '"' {
				return "", false
			}
			k := j + 1
			for k < len(raw) && raw[k] != '"' {
				if raw[k] == '\\' {
					return "", false
				}
				k++
			}
			if k >= len(raw) {
				return "", false
			}
			return string(raw[j+1 : k]), true
		}
	}
	return "", false
}
