package registry

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// finishedAt is a completed task that ended at the given minute.
func finishedAt(min int) *Task {
	at := FormatTime(time.Date(2026, 11, 1, 0, min, 0, 0, time.UTC))
	code := 0
	return &Task{Mode: ModeNative, Command: "true", Status: StatusCompleted, StartedAt: at, CompletedAt: at,
		ExitCode: &code, ConstitutionRules: []string{}}
}

func archivingStore(t *testing.T) (*Store, *[]string) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	s.Warn = func(m string) { warnings = append(warnings, m) }
	s.Archive = true
	return s, &warnings
}

// putFinished adds n finished tasks, done-000 the oldest, in one update.
func putFinished(t *testing.T, s *Store, n int) {
	t.Helper()
	if err := s.Update(func(r *Registry) error {
		for i := 0; i < n; i++ {
			r.Put(fmt.Sprintf("done-%03d", i), finishedAt(i))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestArchiveMovesOldestFinished(t *testing.T) {
	s, _ := archivingStore(t)
	// ArchiveAt finished tasks and one running: nothing moves yet.
	err := s.Update(func(r *Registry) error {
		for i := 0; i < ArchiveAt; i++ {
			r.Put(fmt.Sprintf("done-%03d", i), finishedAt(i))
		}
		r.Put("live", &Task{Status: StatusRunning, StartedAt: FormatTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(HistoryPath(s.Path)); !os.IsNotExist(err) {
		t.Fatalf("history written before the registry passed %d finished tasks: %v", ArchiveAt, err)
	}
	// One more finished task: the oldest move out, down to KeepFinished.
	if err := s.Update(func(r *Registry) error { r.Put("newest", finishedAt(500)); return nil }); err != nil {
		t.Fatal(err)
	}
	r, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Len(), KeepFinished+1; got != want {
		t.Fatalf("registry holds %d tasks, want %d (kept finished + the running one)", got, want)
	}
	if tk, _ := r.Get("live"); tk == nil {
		t.Fatal("the running task was archived")
	}
	moved := ArchiveAt + 1 - KeepFinished
	for i := 0; i < ArchiveAt; i++ {
		tk, _ := r.Get(fmt.Sprintf("done-%03d", i))
		if (tk == nil) != (i < moved) {
			t.Fatalf("done-%03d in registry = %v; the %d oldest should have moved", i, tk != nil, moved)
		}
	}
	hist, err := os.ReadFile(HistoryPath(s.Path))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(hist, []byte("\n")); n != moved {
		t.Fatalf("history has %d lines, want %d", n, moved)
	}
	all, err := s.LoadWithHistory()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := all.Len(), ArchiveAt+2; got != want {
		t.Fatalf("registry and history hold %d tasks, want %d", got, want)
	}
	if tk, err := all.Get("done-000"); err != nil || tk == nil || tk.CompletedAt != finishedAt(0).CompletedAt {
		t.Fatalf("done-000 from the history: %+v, %v", tk, err)
	}
}

func TestHistoryReadersPreferRegistryAndLatestLine(t *testing.T) {
	s, warnings := archivingStore(t)
	hp := HistoryPath(s.Path)
	lines := `{"id":"reused","archived_at":"x","task":{"status":"failed","command":"first"}}
{"id":"reused","archived_at":"x","task":{"status":"completed","command":"second"}}
{"id":"both","archived_at":"x","task":{"status":"completed","command":"archived copy"}}
not a line of ours
{"id":"torn","archived_at":"x","task":{"status":"comp`
	if err := os.WriteFile(hp, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(r *Registry) error {
		r.Put("both", &Task{Status: StatusCompleted, Command: "registry copy"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r, err := s.LoadWithHistory()
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"reused": "second", "both": "registry copy"} {
		if tk, _ := r.Get(id); tk == nil || tk.Command != want {
			t.Errorf("%s: got %+v, want command %q", id, tk, want)
		}
	}
	if tk, _ := r.Get("torn"); tk != nil {
		t.Errorf("an unfinished last line was read: %+v", tk)
	}
	if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "skipped 1 line") {
		t.Errorf("warnings: %q", *warnings)
	}
}

func TestArchiveFailureKeepsTasks(t *testing.T) {
	s, warnings := archivingStore(t)
	FaultWrite = func(data []byte) error {
		if bytes.HasPrefix(data, []byte(`{"id":`)) {
			return errors.New("no space left on device")
		}
		return nil
	}
	defer func() { FaultWrite = nil }()
	putFinished(t, s, ArchiveAt+1)
	r, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != ArchiveAt+1 {
		t.Fatalf("registry holds %d tasks after a failed archive, want all %d", r.Len(), ArchiveAt+1)
	}
	if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "no space left") {
		t.Fatalf("warnings: %q", *warnings)
	}
}

func TestFilterHistory(t *testing.T) {
	s, _ := archivingStore(t)
	hp := HistoryPath(s.Path)
	old := `{"id":"old","archived_at":"x","task":{"status":"completed","completed_at":"2020-01-01T00:00:00Z"}}` + "\n"
	recent := `{"id":"recent","archived_at":"x","task":{"status":"completed","completed_at":"2026-11-01T00:00:00Z"}}` + "\n"
	os.WriteFile(hp+".1", []byte(old), 0o600)
	os.WriteFile(hp, []byte(old+recent), 0o600)
	keep := func(_ string, tk *Task) bool { return tk.Completed().Year() > 2020 }
	n, err := s.FilterHistory(keep, true)
	if err != nil || n != 2 {
		t.Fatalf("dry run: %d, %v; want 2 to drop", n, err)
	}
	if b, _ := os.ReadFile(hp); string(b) != old+recent {
		t.Fatal("a dry run changed the history")
	}
	if n, err = s.FilterHistory(keep, false); err != nil || n != 2 {
		t.Fatalf("filter: %d, %v", n, err)
	}
	if b, _ := os.ReadFile(hp); string(b) != recent {
		t.Fatalf("history after filter: %q", b)
	}
	if b, _ := os.ReadFile(hp + ".1"); len(b) != 0 {
		t.Fatalf("rotated history after filter: %q", b)
	}
}

func TestRemoveStaleTempsOfHistory(t *testing.T) {
	s, _ := archivingStore(t)
	dir := filepath.Dir(s.Path)
	names := map[string]bool{ // name: its writer is alive
		".process_registry.json.tmp-101-aa":            false,
		".process_registry.history.jsonl.tmp-102-bb":   false,
		".process_registry.history.jsonl.1.tmp-103-cc": false,
		".process_registry.history.jsonl.tmp-104-dd":   true,
		".other.tmp-105-ee":                            false,
	}
	for n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed := s.RemoveStaleTemps(func(pid int) bool { return pid == 104 })
	if len(removed) != 3 {
		t.Errorf("removed %q, want the three temporary files of dead writers", removed)
	}
	for n, alive := range names {
		_, err := os.Stat(filepath.Join(dir, n))
		if kept := err == nil; kept != (alive || strings.HasPrefix(n, ".other")) {
			t.Errorf("%s: kept=%v", n, kept)
		}
	}
}

// A move to the history changes two files; a reader must never see a task
// in neither (nor half a line), whatever it runs beside.
func TestLoadWithHistoryDuringMoves(t *testing.T) {
	s, warnings := archivingStore(t)
	const writes = 400
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		for i := 0; i < writes; i++ {
			err := s.Update(func(r *Registry) error { r.Put(fmt.Sprintf("t%04d", i), finishedAt(i)); return nil })
			if err != nil {
				done <- err
				return
			}
			written.Add(1)
		}
		done <- nil
	}()
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		before := written.Load()
		r, err := s.LoadWithHistory()
		if err != nil {
			t.Fatal(err)
		}
		if n := int64(r.Len()); n < before || n > written.Load()+1 {
			t.Fatalf("read %d tasks while %d to %d were written", n, before, written.Load())
		}
	}
	if len(*warnings) > 0 {
		t.Fatalf("warnings: %q", *warnings)
	}
}

// An append after a torn last line (a crash cut it short) starts a line of
// its own: the torn bytes stay one unreadable line, every new task reads.
func TestAppendAfterTornLine(t *testing.T) {
	s, warnings := archivingStore(t)
	hp := HistoryPath(s.Path)
	os.WriteFile(hp, []byte(`{"id":"whole","archived_at":"x","task":{"status":"completed"}}`+"\n"+`{"id":"torn","archiv`), 0o600)
	putFinished(t, s, ArchiveAt+1)
	r, err := s.LoadWithHistory()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Len(), ArchiveAt+2; got != want {
		t.Fatalf("%d tasks readable, want %d (all but the torn one)", got, want)
	}
	if tk, _ := r.Get("done-000"); tk == nil {
		t.Fatal("the first task appended after the torn line is lost")
	}
	if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "skipped 1 line") {
		t.Fatalf("warnings: %q", *warnings)
	}
}
