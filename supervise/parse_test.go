package supervise

import (
	"syscall"
	"testing"
	"time"
)

func TestParseCoreutilsDuration(t *testing.T) {
	ok := []struct {
		in   string
		want time.Duration
	}{
		{"10", 10 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{".1", 100 * time.Millisecond},
		{"0", 0},
		{"-0", 0},
		{"2s", 2 * time.Second},
		{"1.5m", 90 * time.Second},
		{"2h", 2 * time.Hour},
		{"1d", 24 * time.Hour},
		{" 5", 5 * time.Second},
		{"1e2", 100 * time.Second},
		{"0x10", 16 * time.Second},
		{"0x1d", 29 * time.Second}, // hexadecimal, not a day
		{"0x1p3d", 8 * 24 * time.Hour},
		{"1e-10", 1},                 // rounds up to a nanosecond, never to "no timeout"
		{"inf", MaxDuration},         // coreutils: never fires
		{"infinity", MaxDuration},    //
		{"1e400", MaxDuration},       // ERANGE is accepted
		{"9999999999d", MaxDuration}, // beyond time.Duration
		{"+3", 3 * time.Second},
	}
	for _, c := range ok {
		got, err := ParseCoreutilsDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseCoreutilsDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	bad := []string{"", "-1", "-0.5s", "abc", "1x", "10ss", "1.2.3", "nan", "NaN", "-inf", "s", "5 ", "1_000", "1e", "0x", "1h30m", "--1", "+-1"}
	for _, in := range bad {
		if d, err := ParseCoreutilsDuration(in); err == nil {
			t.Errorf("ParseCoreutilsDuration(%q) = %v, want error", in, d)
		}
	}
}

func TestParseDurationGoSyntax(t *testing.T) {
	for in, want := range map[string]time.Duration{"1h30m": 90 * time.Minute, "500ms": 500 * time.Millisecond, "10": 10 * time.Second, "2m": 2 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1h", "-5", "1y", "abc", "nan"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func TestParseSignal(t *testing.T) {
	ok := map[string]syscall.Signal{
		"9": syscall.SIGKILL, "KILL": syscall.SIGKILL, "SIGKILL": syscall.SIGKILL, "kill": syscall.SIGKILL,
		"sigterm": syscall.SIGTERM, "TERM": syscall.SIGTERM, "15": syscall.SIGTERM,
		"137": syscall.SIGKILL, // an exit status of a signalled process means its signal
		"0":   0, "EXIT": 0, "HUP": syscall.SIGHUP, "CLD": syscall.SIGCHLD,
	}
	for in, want := range ok {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "NOPE", "SIG", "-9", "9x", "SIGSIGKILL", "99999999999"} {
		if s, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) = %v, want error", in, s)
		}
	}
	for sig, want := range map[syscall.Signal]string{syscall.SIGTERM: "TERM", syscall.SIGKILL: "KILL", syscall.SIGABRT: "ABRT"} {
		if got := SignalName(sig); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", sig, got, want)
		}
	}
}
