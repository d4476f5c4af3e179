package supervise

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits caps a native task through its cgroup (--memory, --cpus,
// --pids). Zero means no limit.
type Limits struct {
	Memory int64   // bytes; swap is not allowed on top
	CPUs   float64 // CPUs' worth of time per period
	PIDs   int     // processes and threads
}

// Any reports whether some limit is set.
func (l Limits) Any() bool { return l.Memory > 0 || l.CPUs > 0 || l.PIDs > 0 }

// ParseSize reads a memory size as docker run's --memory does: a number
// with an optional unit b, k, m, g or t (powers of 1024, either case, an
// optional trailing "b": 512m, 1.5g, 64MiB is not accepted); at least 1m.
func ParseSize(s string) (int64, error) {
	n, err := ParseBytes(s)
	if err == nil && n < 1<<20 {
		return 0, fmt.Errorf("invalid size %s: at least 1m", Quote(s))
	}
	return n, err
}

// ParseBytes reads a size as ParseSize does, without its minimum.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := float64(1)
	if n := len(t); n > 0 {
		units := map[byte]float64{'b': 1, 'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}
		if n > 1 && t[n-1] == 'b' && units[t[n-2]] > 1 {
			t = t[:n-1] // "512mb"
			n--
		}
		if u, ok := units[t[n-1]]; ok {
			mult, t = u, t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) || f*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("invalid size %s (use e.g. 512m or 1g)", Quote(s))
	}
	return int64(f * mult), nil
}

// ParseCPUs reads --cpus: a positive number of CPUs (0.5, 2).
func ParseCPUs(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f >= 0.01) || f > 1<<16 {
		return 0, fmt.Errorf("invalid number %s (use e.g. 0.5 or 2; at least 0.01)", Quote(s))
	}
	return f, nil
}

// maxPIDs is the kernel's PID_MAX_LIMIT: pids.max takes no more.
const maxPIDs = 4194304

// ParsePIDs reads --pids: a positive count of processes and threads.
func ParsePIDs(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > maxPIDs {
		return 0, fmt.Errorf("invalid count %s (use a whole number of processes, 1 to %d)", Quote(s), maxPIDs)
	}
	return n, nil
}

// ErrNoLimits: the task has no cgroup, so no limit can be applied.
var ErrNoLimits = errors.New("limits need the task's own cgroup")
