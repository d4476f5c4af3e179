package supervise

import (
	"slices"
	"testing"
)

// The v1 step: the command's path and argv pass through EnterAndExec's
// arguments unchanged, and the cpu cgroup is entered last.
func TestEnterSpec(t *testing.T) {
	c := &Cgroup{v1: []string{"/sys/fs/cgroup/cpu,cpuacct/watchdog/wd-x", "/sys/fs/cgroup/memory/watchdog/wd-x"}}
	spec := c.enterSpec(Spec{Path: "/bin/echo", Argv: []string{"echo", "--", "a b"}})
	want := []string{"watchdog", EnterArg, c.v1[0], c.v1[1], "--", "/bin/echo", "echo", "--", "a b"}
	if spec.Path != "/proc/self/exe" || !slices.Equal(spec.Argv, want) {
		t.Errorf("enterSpec = %s %q, want /proc/self/exe %q", spec.Path, spec.Argv, want)
	}
	if !isCPU(c.v1[0]) || isCPU(c.v1[1]) || !isCPU("/sys/fs/cgroup/cpu/watchdog/wd-a/wd-b") {
		t.Error("isCPU does not tell the cpu hierarchy")
	}
	if got := (&Cgroup{}).enterSpec(Spec{Path: "/bin/true"}); got.Path != "/bin/true" {
		t.Errorf("without v1 cgroups the spec changed: %+v", got)
	}
}

// Sizes as docker run's --memory takes them; nonsense and tiny values are
// refused.
func TestParseLimits(t *testing.T) {
	for in, want := range map[string]int64{"64m": 64 << 20, "1g": 1 << 30, "1.5G": 3 << 29, "512mb": 512 << 20, "2097152": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1m", "0", "1k", "inf", "1e400"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): no error", in)
		}
	}
	for _, in := range []string{"0", "-1", "0.001", "nan", "x"} {
		if _, err := ParseCPUs(in); err == nil {
			t.Errorf("ParseCPUs(%q): no error", in)
		}
	}
	for _, in := range []string{"0", "-3", "4194305", "1.5", "99999999999"} {
		if _, err := ParsePIDs(in); err == nil {
			t.Errorf("ParsePIDs(%q): no error", in)
		}
	}
	if n, err := ParsePIDs("20"); err != nil || n != 20 {
		t.Errorf("ParsePIDs(20) = %d, %v", n, err)
	}
}
