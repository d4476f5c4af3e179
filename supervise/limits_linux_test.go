package supervise

import "testing"

// v1CgroupOf finds this process's cgroup in a v1 hierarchy, whether the
// mount is named for all its controllers or, as systemd's symlinks are,
// for one.
func TestV1CgroupOf(t *testing.T) {
	own := []byte("9:name=systemd:/user.slice\n4:memory:/m/x\n1:cpu,cpuacct:/c/y\n0::/z\n")
	for name, want := range map[string]string{"memory": "/m/x", "cpu,cpuacct": "/c/y", "cpu": "/c/y", "cpuacct": "/c/y", "pids": "/"} {
		if got := v1CgroupOf(own, name); got != want {
			t.Errorf("v1CgroupOf(%q) = %q, want %q", name, got, want)
		}
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
