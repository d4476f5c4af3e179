package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func readFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/registry/rust-format.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The earlier tool's registry loads, and every field it had survives a
// rewrite in which one task is changed and another added.
func TestRustFormatRoundTrip(t *testing.T) {
	r, err := Parse(readFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	t1, err := r.Get("T001")
	if err != nil || t1 == nil {
		t.Fatalf("Get T001: %v %v", t1, err)
	}
	if t1.Native.PID != 12345 || t1.Native.StartTime != "Fri Jan 10 15:30:00 2026" || len(t1.ConstitutionRules) != 2 {
		t.Fatalf("decoded T001 wrong: %+v %+v", t1, t1.Native)
	}
	t1.Status = StatusFailed
	t1.Reason = ReasonLost
	r.Put("T001", t1)
	r.Put("T003", &Task{Mode: ModeNative, Command: "true", Status: StatusCompleted})
	out, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}

	var before, after map[string]any
	json.Unmarshal(readFixture(t), &before)
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatalf("rewritten registry does not parse: %v\n%s", err, out)
	}
	if after["version"] != before["version"] {
		t.Errorf("top-level unknown field lost: %v", after["version"])
	}
	bt := before["tasks"].(map[string]any)
	at := after["tasks"].(map[string]any)
	if !reflect.DeepEqual(bt["T002"], at["T002"]) {
		t.Errorf("untouched task changed:\nbefore %v\nafter  %v", bt["T002"], at["T002"])
	}
	// Every field T001 had is still there with its value, except status.
	b1, a1 := bt["T001"].(map[string]any), at["T001"].(map[string]any)
	for k, v := range b1 {
		if k == "status" {
			continue
		}
		if !reflect.DeepEqual(a1[k], v) {
			t.Errorf("T001.%s: %v, want %v", k, a1[k], v)
		}
	}
	if a1["status"] != "failed" || a1["reason"] != "lost" {
		t.Errorf("T001 change not written: %v", a1)
	}
}

// Unknown fields inside a task and inside native/docker survive when the
// task itself is rewritten.
func TestUnknownNestedFieldsSurvive(t *testing.T) {
	in := `{"tasks":{"X":{"mode":"docker","command":"c","status":"running","started_at":"",` +
		`"docker":{"container_id":"a","container_name":"b","resource_limits":{},"gpu":"yes"},` +
		`"native":{"pid":5,"pgid":5,"start_time":"","env_tag":"","nice":3},"constitution_rules":[],"extra":[1,2]}}}`
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := r.Get("X")
	x.Status = StatusCompleted
	r.Put("X", x)
	out, _ := r.Encode()
	for _, want := range []string{`"gpu":"yes"`, `"nice":3`, `"extra":[1,2]`, `"status":"completed"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rewrite lost %s:\n%s", want, out)
		}
	}
}

// A malformed entry among good ones is reported by Get, keeps its bytes on
// rewrite, and does not hide the good ones.
func TestMalformedEntryKept(t *testing.T) {
	in := `{"tasks":{"good":{"mode":"native","command":"a","status":"completed","started_at":"","constitution_rules":[]},` +
		`"bad":{"mode":7,"native":{"pid":"x"}},"weird":[1,2,3]}}`
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if g, err := r.Get("good"); err != nil || g == nil {
		t.Fatalf("good entry lost: %v", err)
	}
	if _, err := r.Get("bad"); err == nil {
		t.Fatal("bad entry decoded without error")
	}
	if _, err := r.Get("weird"); err == nil {
		t.Fatal("array entry decoded without error")
	}
	r.Put("new", &Task{Status: StatusRunning})
	out, _ := r.Encode()
	for _, want := range []string{`"bad":{"mode":7,"native":{"pid":"x"}}`, `"weird":[1,2,3]`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("malformed entry's bytes not kept: want %s in\n%s", want, out)
		}
	}
}

func TestParseCorrupt(t *testing.T) {
	for _, in := range []string{`{`, `[]`, `null`, `{"tasks":[1]}`, `{"tasks":"x"}`, "\x00\x01"} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Parse(%q) = %v, want ErrCorrupt", in, err)
		}
	}
	for _, in := range []string{``, "  \n", `{}`, `{"tasks":null}`, `{"tasks":{}}`} {
		r, err := Parse([]byte(in))
		if err != nil || r.Len() != 0 {
			t.Errorf("Parse(%q) = %v, %v; want empty registry", in, r, err)
		}
	}
}

func TestValidateID(t *testing.T) {
	good := []string{"T001", "a", "9", "build-1.2_x", strings.Repeat("a", 64)}
	bad := []string{"", "-x", ".x", "_x", "a/b", "..", "a b", "a\nb", "é", strings.Repeat("a", 65), "a;b", "a\x00"}
	for _, id := range good {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	for _, id := range bad {
		if err := ValidateID(id); err == nil {
			t.Errorf("ValidateID(%q) accepted", id)
		}
	}
}

// Concurrent updates from many goroutines and processes lose nothing: each
// writer's entry is present at the end.
func TestConcurrentUpdates(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// A fresh Store per writer: separate lock descriptors, as
			// separate processes would have.
			s2, _ := Open(s.Path)
			err := s2.Update(func(r *Registry) error {
				r.Put(fmt.Sprintf("w%d", i), &Task{Status: StatusCompleted})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	r, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 64 {
		t.Fatalf("%d entries, want 64", r.Len())
	}
}

// A failed write leaves the previous registry intact and no temp file.
func TestFailedWriteKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(filepath.Join(dir, "process_registry.json"))
	if err := s.Update(func(r *Registry) error { r.Put("a", &Task{Status: StatusCompleted}); return nil }); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path)
	FaultWrite = func([]byte) error { return errors.New("injected: no space left on device") }
	defer func() { FaultWrite = nil }()
	err := s.Update(func(r *Registry) error { r.Put("b", &Task{Status: StatusRunning}); return nil })
	if err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("Update = %v, want the write error", err)
	}
	after, _ := os.ReadFile(s.Path)
	if string(before) != string(after) {
		t.Fatal("registry changed by a failed write")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temp file left behind: %s", e.Name())
		}
	}
}

// Peek's fast path agrees with a full decode on every shape of entry.
func TestPeekMatchesDecode(t *testing.T) {
	entries := []string{
		`{"mode":"native","command":"sh -c '{\"status\":\"running\"}'","status":"completed","run_id":"abc","native":{"pid":1,"status":"x"}}`,
		`{"native":{"status":"running","run_id":"inner"},"status":"failed","run_id":"outer"}`,
		`{ "status" : "running" , "run_id" : "r1" }`,
		`{"status":"running"}`,
		`{"status":"ru\u006enning","run_id":"e\"x"}`,
		`{"command":"a\\","status":"cancelled","run_id":"z"}`,
		`{"labels":{"run_id":"no"},"status":"completed"}`,
	}
	for _, raw := range entries {
		r, err := Parse([]byte(`{"tasks":{"x":` + raw + `}}`))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		st, run, ok := r.Peek("x")
		var want struct {
			Status string `json:"status"`
			RunID  string `json:"run_id"`
		}
		json.Unmarshal([]byte(raw), &want)
		if !ok || st != want.Status || run != want.RunID {
			t.Errorf("Peek(%s) = %q %q %v; want %q %q", raw, st, run, ok, want.Status, want.RunID)
		}
	}
}

// Hostile sizes and shapes: a registry of tens of MB parses; nesting far
// beyond any real registry is refused as corrupt without exhausting the
// stack; a file over MaxSize is refused with a clear error, not loaded.
func TestHostileShapes(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"tasks":{`)
	entry := `{"mode":"native","command":"` + strings.Repeat("x", 900) + `","status":"completed","started_at":"2026-01-01T00:00:00Z","constitution_rules":[]}`
	for i := 0; i < 30000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"t%d":%s`, i, entry)
	}
	b.WriteString(`}}`)
	if b.Len() < 25<<20 {
		t.Fatalf("test registry only %d bytes", b.Len())
	}
	r, err := Parse([]byte(b.String()))
	if err != nil || r.Len() != 30000 {
		t.Fatalf("30 MB registry: %v, %d entries", err, r.Len())
	}

	deep := `{"tasks":{"a":` + strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000) + `}}`
	if _, err := Parse([]byte(deep)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("deep nesting: %v", err)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "process_registry.json")
	f, _ := os.Create(path)
	f.Truncate(MaxSize + 1)
	f.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "more than the") {
		t.Fatalf("oversized registry: %v", err)
	}
}

// A symlink planted at the temporary path is never followed: the write
// fails, its target is untouched, the registry is as it was.
func TestSymlinkAtTempPathRefused(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(filepath.Join(dir, "process_registry.json"))
	if err := s.Update(func(r *Registry) error { r.Put("a", &Task{Status: StatusCompleted}); return nil }); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path)
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("precious"), 0o600)
	old := tempSuffix
	tempSuffix = func() string { return "fixed" }
	defer func() { tempSuffix = old }()
	planted := filepath.Join(dir, fmt.Sprintf(".process_registry.json.tmp-%d-fixed", os.Getpid()))
	if err := os.Symlink(target, planted); err != nil {
		t.Fatal(err)
	}
	err := s.Update(func(r *Registry) error { r.Put("b", &Task{Status: StatusRunning}); return nil })
	if err == nil || !strings.Contains(err.Error(), "file exists") {
		t.Fatalf("Update through a planted symlink = %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Fatalf("symlink target written: %q", b)
	}
	if after, _ := os.ReadFile(s.Path); string(after) != string(before) {
		t.Fatal("registry changed")
	}
}
