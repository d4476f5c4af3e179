package supervise

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseDuration: never panics; accepted coreutils durations are never
// negative; and wherever strconv reads a plain non-negative decimal, the
// result agrees with it.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"10", "1.5", ".1", "2m", "1h", "1d", "0", "-1", "nan", "inf", "1e400", "0x1p3d", " 5", "1h30m", "500ms", "", "s", "1e", "9999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseCoreutilsDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseCoreutilsDuration(%q) = %v, negative", s, d)
		}
		if v, perr := strconv.ParseFloat(s, 64); perr == nil && v >= 0 && v < 1e6 && !strings.ContainsAny(s, "xXpP_iInN") {
			want := time.Duration(math.Ceil(v * 1e9))
			if err != nil || d != want {
				t.Fatalf("ParseCoreutilsDuration(%q) = %v, %v; want %v", s, d, err, want)
			}
		}
		if g, err := ParseDuration(s); err == nil && g < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, g)
		}
	})
}

// FuzzParseSignal: never panics; whatever is accepted is a named signal in
// range, whose name parses back to it.
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"TERM", "SIGKILL", "kill", "9", "137", "0", "RTMIN+3", "RTMAX-1", "33", "65", "", "SIG", "-1", "SIGSIGTERM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignal(s)
		if err != nil {
			return
		}
		if sig < 0 || int(sig) > maxSignal {
			t.Fatalf("ParseSignal(%q) = %d, out of range", s, sig)
		}
		back, err := ParseSignal(SignalName(sig))
		if err != nil || back != sig {
			t.Fatalf("ParseSignal(%q) = %d, but its name %q parses to %d, %v", s, sig, SignalName(sig), back, err)
		}
	})
}
