package shims

import (
	"os"
	"os/exec"
	"testing"
)

// The help text is byte-for-byte the system timeout's where that is
// coreutils 9.1 (the version this drop-in follows).
func TestHelpMatchesSystemTimeout(t *testing.T) {
	out, err := exec.Command("timeout", "--version").Output()
	if err != nil || len(out) < 27 || string(out[:27]) != "timeout (GNU coreutils) 9.1" {
		t.Skipf("system timeout is not coreutils 9.1 (%q)", out)
	}
	want, err := exec.Command("timeout", "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := Help("timeout"); got != string(want) {
		os.WriteFile(t.TempDir()+"/got", []byte(got), 0o644)
		t.Fatalf("help differs:\n--- got\n%s\n--- want\n%s", got, want)
	}
}
