package supervise

import (
	"math"
	"sync/atomic"
	"testing"
)

func TestCPUTicks(t *testing.T) {
	for _, c := range []struct {
		user, system float64
		hz           int64
		want         uint64
	}{
		{0, 0, 1_000_000, 0},
		{1.5, 0.25, 1_000_000, 1_750_000},
		{0.000_000_4, 0, 1_000_000, 0}, // rounds to the nearest tick
		{0.000_000_6, 0, 1_000_000, 1},
		{1.5, 0.25, 100, 175},
		{2, 1, 100, 300},
		{-1, 2, 100, 200}, // not a time: counts as 0
		{math.NaN(), 2, 100, 200},
		{math.Inf(1), 2, 100, 200},
		{1e30, 0, 1_000_000, math.MaxUint64},
	} {
		if got := cpuTicks(c.user, c.system, c.hz); got != c.want {
			t.Errorf("cpuTicks(%v, %v, %d) = %d, want %d", c.user, c.system, c.hz, got, c.want)
		}
	}
}

// The CPU share the views compute from CPUTicks and ClockTicks is the one
// gopsutil's seconds give, in the unit macOS uses (microseconds).
func TestCPUTicksGiveSeconds(t *testing.T) {
	const hz = 1_000_000
	user, system := 12.345678, 0.5
	got := float64(cpuTicks(user, system, hz)) / hz
	if math.Abs(got-(user+system)) > 1.0/hz {
		t.Errorf("%v + %v seconds come back as %v", user, system, got)
	}
}

func TestRSSPages(t *testing.T) {
	for _, c := range []struct {
		bytes uint64
		page  int64
		want  int64
	}{
		{0, 4096, 0},
		{1, 4096, 1}, // some memory shows as some
		{4096, 4096, 1},
		{4097, 4096, 2},
		{100 << 20, 16384, 6400},
		{100<<20 + 1, 16384, 6401},
		{1 << 20, 0, 0},
		{math.MaxUint64, 1, math.MaxInt64},
	} {
		if got := rssPages(c.bytes, c.page); got != c.want {
			t.Errorf("rssPages(%d, %d) = %d, want %d", c.bytes, c.page, got, c.want)
		}
	}
}

func TestStateLetter(t *testing.T) {
	for _, c := range []struct {
		status  string
		current byte
		want    byte
	}{
		{"running", 'S', 'R'},
		{"sleep", 'R', 'S'},
		{"idle", 'R', 'I'},
		{"stop", 'R', 'T'},
		{"blocked", 'R', 'D'},
		{"wait", 'R', 'W'},
		{"lock", 'R', 'L'},
		{"zombie", 'R', 'Z'},
		{"", 'R', 'R'},        // no status read
		{"unknown", 'T', 'T'}, // gopsutil's UnknownState
		{"daemon", 'S', 'S'},  // a status with no state letter
		{"running", 'Z', 'Z'}, // the kernel's zombie flag wins
	} {
		if got := stateLetter(c.status, c.current); got != c.want {
			t.Errorf("stateLetter(%q, %q) = %q, want %q", c.status, c.current, got, c.want)
		}
	}
}

func TestKinfoState(t *testing.T) {
	for pStat, want := range map[int8]byte{1: 'R', 2: 'R', 3: 'S', 4: 'T', 5: 'Z', 0: 'R'} {
		if got := kinfoState(pStat); got != want {
			t.Errorf("kinfoState(%d) = %q, want %q", pStat, got, want)
		}
	}
}

func TestFillFigures(t *testing.T) {
	ps := make([]ProcStat, 50)
	for i := range ps {
		ps[i] = ProcStat{PID: i + 1, State: 'R'}
	}
	before := append([]ProcStat(nil), ps...)
	old := readFigures
	defer func() { readFigures = old }()

	readFigures = nil // ReadProc has them already: nothing to do
	FillFigures(ps)
	for i := range ps {
		if ps[i] != before[i] {
			t.Fatalf("with no reader, FillFigures changed %+v to %+v", before[i], ps[i])
		}
	}

	var calls atomic.Int32
	readFigures = func(p *ProcStat) {
		calls.Add(1)
		p.CPUTicks = uint64(p.PID) * 10
		p.RSSPages = int64(p.PID)
	}
	FillFigures(ps)
	if calls.Load() != int32(len(ps)) {
		t.Fatalf("the reader ran %d times for %d processes", calls.Load(), len(ps))
	}
	for i, p := range ps {
		if p.PID != i+1 || p.CPUTicks != uint64(i+1)*10 || p.RSSPages != int64(i+1) {
			t.Fatalf("process %d: got %+v", i+1, p)
		}
	}
	FillFigures(nil)
}
