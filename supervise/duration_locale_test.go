package supervise

import (
	"testing"
	"time"
)

// A duration C can read, suffixes included, never costs a look at the
// locale (reading glibc's locale files on every exec doubled its time);
// one with a character no C number has is read with the locale's decimal
// point too.
func TestDurationLocaleOnlyWhenNeeded(t *testing.T) {
	defer func(f func() string) { decimalPoint = f }(decimalPoint)
	asked := 0
	decimalPoint = func() string { asked++; return "," }
	for _, s := range []string{"10", "1m", "1.5h", "0x1d", "inf", " 2s", "-1", "abc", "1e", "1x"} {
		ParseCoreutilsDuration(s)
		if asked != 0 {
			t.Fatalf("ParseCoreutilsDuration(%q) consulted the locale", s)
		}
	}
	for s, want := range map[string]time.Duration{"0,5": 500 * time.Millisecond, "1,5m": 90 * time.Second} {
		if got, err := ParseCoreutilsDuration(s); err != nil || got != want {
			t.Errorf("ParseCoreutilsDuration(%q) with a decimal comma = %v, %v; want %v", s, got, err, want)
		}
	}
	if asked == 0 {
		t.Error("a decimal comma never consulted the locale")
	}
}
