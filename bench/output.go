package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func init() {
	benches = append(benches,
		bench{"log", "`watchdog exec --log -- head -c 1G /dev/zero > FILE` vs `head -c 1G /dev/zero > FILE`: throughput, median of 7", "≥ 0.8×", benchLog},
		bench{"idle", "`watchdog exec --idle-timeout 1m -- head -c 1G /dev/zero > FILE`, the same comparison (the pipes alone, no log)", "≥ 0.8×", benchIdle})
}

const gig = 1 << 30

// benchLog: the output passes through the watchdog to the caller's file
// and the task's log (capped at its default, so the log holds 64 MiB).
func benchLog(wd, dir string) (row, error) { return benchThroughput(wd, dir, "--log") }

// benchIdle: the pipes and the copy to the caller, without a log.
func benchIdle(wd, dir string) (row, error) {
	return benchThroughput(wd, dir, "--idle-timeout", "1m")
}

func benchThroughput(wd, dir string, opts ...string) (row, error) {
	out := filepath.Join(dir, "out")
	producer := []string{"head", "-c", fmt.Sprint(gig), "/dev/zero"}
	ours := append(append(append([]string{wd, "exec"}, opts...), "--"), producer...)
	run := func(argv []string) (time.Duration, error) {
		f, err := os.Create(out)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout = f
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%v: %v", argv, err)
		}
		d := time.Since(start)
		if st, err := f.Stat(); err != nil || st.Size() != gig {
			return 0, fmt.Errorf("%v wrote %d bytes, not %d", argv, st.Size(), gig)
		}
		return d, nil
	}
	var as, bs []time.Duration
	for i := 0; i < 7; i++ {
		a, err := run(ours)
		if err != nil {
			return row{}, err
		}
		b, err := run(producer)
		if err != nil {
			return row{}, err
		}
		as, bs = append(as, a), append(bs, b)
		os.RemoveAll(filepath.Join(filepath.Dir(os.Getenv("WATCHDOG_REGISTRY")), "watchdog-logs"))
	}
	a, b := median(as), median(bs)
	ratio := float64(b) / float64(a) // throughput: the reference's time over ours
	mbs := func(d time.Duration) string { return fmt.Sprintf("%.0f MB/s", float64(gig)/1e6/d.Seconds()) }
	return row{ours: mbs(a), ref: mbs(b), ratio: fmt.Sprintf("%.2f×", ratio), pass: ratio >= 0.8}, nil
}
