package supervise

import (
	"math"
	"sync"
)

// readFigures fills one process's CPUTicks, RSSPages and State where
// ReadProc leaves them out (macOS, where they come from gopsutil and may
// cost a run of ps each). It is nil where ReadProc reads them already
// (Linux).
var readFigures func(p *ProcStat)

// FillFigures reads the CPU time, resident memory and state of processes
// from a Snapshot, for showing them. ReadProc and Snapshot leave these out
// where reading them is slow (macOS), so that identity checks in loops stay
// fast; elsewhere FillFigures does nothing. A process that is gone keeps
// zero figures.
func FillFigures(ps []ProcStat) {
	read := readFigures
	if read == nil {
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range ps {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			read(&ps[i])
		})
	}
	wg.Wait()
}

// cpuTicks converts user and system CPU seconds (as gopsutil gives them)
// to CPUTicks at ticksPerSecond. Figures that are not a time count as 0.
func cpuTicks(userSeconds, systemSeconds float64, ticksPerSecond int64) uint64 {
	t := 0.0
	for _, s := range [...]float64{userSeconds, systemSeconds} {
		if s > 0 && !math.IsInf(s, 1) {
			t += s
		}
	}
	t = math.Round(t * float64(ticksPerSecond))
	if t >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(t)
}

// rssPages converts a resident size in bytes to RSSPages of pageSize
// bytes, rounding up so that a process with any memory shows some.
func rssPages(rssBytes uint64, pageSize int64) int64 {
	if pageSize <= 0 {
		return 0
	}
	n := rssBytes / uint64(pageSize)
	if rssBytes%uint64(pageSize) != 0 {
		n++
	}
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}

// stateLetter maps a gopsutil process status ("running", "sleep", ...) to
// the state letter ProcStat holds, with Linux's meanings: 'D' is an
// uninterruptible wait. A status with no letter keeps current, and a zombie
// stays one: the kernel's zombie flag decides Zombie.
func stateLetter(status string, current byte) byte {
	if current == 'Z' {
		return 'Z'
	}
	switch status {
	case "running":
		return 'R'
	case "sleep":
		return 'S'
	case "idle":
		return 'I'
	case "stop":
		return 'T'
	case "blocked":
		return 'D'
	case "wait":
		return 'W'
	case "lock":
		return 'L'
	case "zombie":
		return 'Z'
	}
	return current
}

// kinfoState maps the p_stat of a BSD kinfo_proc to a state letter.
func kinfoState(pStat int8) byte {
	switch pStat {
	case 3: // SSLEEP
		return 'S'
	case 4: // SSTOP
		return 'T'
	case 5: // SZOMB
		return 'Z'
	}
	return 'R' // SIDL, SRUN
}
