package registry

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const corrupt = `{"tasks":{"a":{"status":"running"}` // cut short

// listDir is the sorted names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// Read and ReadWithHistory of a registry that does not parse: an error
// wrapping ErrCorrupt that names the file, and nothing on disk changes —
// the file byte for byte, no .corrupt- copy, not even a lock file.
func TestReadOfCorruptRegistryChangesNothing(t *testing.T) {
	for _, open := range []func(string) (*Store, error){Open, OpenForReading} {
		dir := t.TempDir()
		path := filepath.Join(dir, "process_registry.json")
		if err := os.WriteFile(path, []byte(corrupt), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := open(path)
		if err != nil {
			t.Fatal(err)
		}
		var warnings []string
		s.Warn = func(m string) { warnings = append(warnings, m) }
		before := listDir(t, dir)
		for name, read := range map[string]func() (*Registry, error){"Read": s.Read, "ReadWithHistory": s.ReadWithHistory} {
			r, err := read()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || r != nil {
				t.Errorf("%s = %v, %v; want an error wrapping ErrCorrupt naming %s", name, r, err, path)
			}
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != corrupt {
			t.Errorf("registry changed by a read: %q, %v", b, err)
		}
		if after := listDir(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
			t.Errorf("a read changed the directory: %q, was %q", after, before)
		}
		if len(warnings) != 0 {
			t.Errorf("a read warned of a change it did not make: %q", warnings)
		}
	}
}

// OpenForReading does not create a missing directory, and Read of it is an
// empty registry, with still no directory afterwards.
func TestReadWithoutDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing", "here")
	s, err := OpenForReading(filepath.Join(dir, "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func() (*Registry, error){"Read": s.Read, "ReadWithHistory": s.ReadWithHistory} {
		if r, err := read(); err != nil || r == nil || r.Len() != 0 {
			t.Errorf("%s = %v, %v; want an empty registry", name, r, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the directory exists after reading: %v", err)
	}
}

// Load, for commands that write, still quarantines a registry that does
// not parse, byte for byte, and says so through Warn.
func TestLoadQuarantinesAndWarns(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(s.Path, []byte(corrupt), 0o600)
	var warnings []string
	s.Warn = func(m string) { warnings = append(warnings, m) }
	r, err := s.Load()
	if err != nil || r.Len() != 0 {
		t.Fatalf("Load = %v, %v; want an empty registry", r, err)
	}
	asides, _ := filepath.Glob(s.Path + ".corrupt-*")
	if len(asides) != 1 {
		t.Fatalf("quarantined copies: %q", asides)
	}
	if b, _ := os.ReadFile(asides[0]); string(b) != corrupt {
		t.Errorf("quarantined copy is %q", b)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], asides[0]) {
		t.Errorf("warnings: %q; want one naming %s", warnings, asides[0])
	}
}

// With Warn nil the quarantine is printed to standard error, not dropped.
func TestNilWarnGoesToStderr(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(s.Path, []byte(corrupt), 0o600)
	got := captureStderr(t, func() {
		if _, err := s.Load(); err != nil {
			t.Error(err)
		}
	})
	asides, _ := filepath.Glob(s.Path + ".corrupt-*")
	if len(asides) != 1 {
		t.Fatalf("quarantined copies: %q", asides)
	}
	if !strings.HasPrefix(got, "watchdog: warning: registry "+s.Path+" does not parse") ||
		!strings.Contains(got, asides[0]) || strings.Count(got, "\n") != 1 {
		t.Fatalf("standard error: %q; want one warning line naming %s", got, asides[0])
	}
}

// captureStderr runs f with os.Stderr a pipe and returns what was written.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	saved := os.Stderr
	os.Stderr = wr
	var buf bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&buf, rd); close(copied) }()
	func() {
		defer func() { os.Stderr = saved }()
		f()
	}()
	wr.Close()
	<-copied
	return buf.String()
}
