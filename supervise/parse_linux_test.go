package supervise

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestRealtimeSignals(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"RTMIN": 34, "RTMIN+1": 35, "RTMAX": 64, "RTMAX-1": 63, "SIGRTMIN+15": 49, "64": 64} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"RTMIN+", "RTMIN-1", "RTMAX+1", "RTMIN+31", "65", "RTMIN++1", "32", "33"} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) accepted", in)
		}
	}
	for sig, want := range map[syscall.Signal]string{34: "RTMIN", 35: "RTMIN+1", 49: "RTMIN+15", 50: "RTMAX-14", 64: "RTMAX", 32: "32"} {
		if got := SignalName(sig); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", sig, got, want)
		}
	}
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses must not shift the fields.
	line := "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 987654 12345678 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
	p, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if p.PID != 4242 || p.State != 'S' || p.PPID != 1 || p.PGID != 4242 || p.StartTicks != 987654 || p.CPUTicks != 10 || p.RSSPages != 321 {
		t.Fatalf("parseStat = %+v", p)
	}
}

// The boot time computed from clocks agrees with the kernel's btime, which
// `ps` uses for lstart: records stay comparable with the earlier tool's.
func TestBootTimeMatchesProcStat(t *testing.T) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			want, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			got := StartWallTime(0).Unix()
			if got < want-1 || got > want+1 {
				t.Fatalf("boot time %d, /proc/stat btime %d", got, want)
			}
			return
		}
	}
	t.Fatal("no btime in /proc/stat")
}
