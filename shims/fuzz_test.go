package shims

import (
	"strings"
	"testing"
)

// FuzzParseTimeout: the argument parser never panics, and a successful
// parse leaves a command to run (unless it asked for --help or --version).
func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"10 true", "-k 1 -s KILL 5 sleep 9", "--pres --fore -v 1 x", "--v 1 x", "-vk", "-- 1 true", "--signal=INT 1 a b", "--help", "-sKILL", "1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		a, err := ParseTimeout(strings.Fields(line))
		if err != nil {
			if _, ok := err.(*UsageError); !ok {
				t.Fatalf("ParseTimeout(%q): error of type %T", line, err)
			}
			return
		}
		if !a.Help && !a.Version && len(a.Argv) == 0 {
			t.Fatalf("ParseTimeout(%q) accepted without a command", line)
		}
		if a.Duration < 0 || a.KillAfter < 0 {
			t.Fatalf("ParseTimeout(%q): negative durations %v %v", line, a.Duration, a.KillAfter)
		}
	})
}
