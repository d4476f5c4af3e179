// Command bench measures watchdog against its references, side by side:
// each round runs our command and the reference one after the other, so
// drift of the machine affects both alike. It prints one table row per
// measurement with our median, the reference's, the ratio, the target and
// whether it is met. It is a benchmark, never a test: nothing here fails a
// build.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

type row struct {
	name   string
	ours   string // how our figure is shown
	ref    string
	ratio  string
	target string
	pass   bool
	info   bool // for scale only: no target
}

var (
	watchdog = flag.String("watchdog", "bin/watchdog", "watchdog binary to measure")
	rounds   = flag.Int("rounds", 300, "rounds per wall-time comparison")
	only     = flag.String("only", "", "comma-separated rows to run (exec, floor, exec-floor, memory, signal, registry, sweep, docker, scale, scale-small, timedout, against)")
	tmp      = flag.String("dir", os.TempDir(), "where the registries and scratch files go (its filesystem matters: try /dev/shm)")
	against  = flag.String("against", "", "another watchdog `BINARY` (an older build): the against row times exec with both, alternating")
	phases   = flag.Bool("phases", false, "instead of the table: build watchdog with -tags phasetrace and print when each phase of an exec is reached, on average")
)

func main() {
	flag.Parse()
	wd, err := filepath.Abs(*watchdog)
	if err != nil {
		fatal(err)
	}
	if _, err := os.Stat(wd); err != nil {
		fatal(fmt.Errorf("%s: build it first (make build)", wd))
	}
	settle(wd)
	dir, err := os.MkdirTemp(*tmp, "watchdog-bench-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Setenv("WATCHDOG_REGISTRY", filepath.Join(dir, "reg", "process_registry.json"))
	// Every exec adds its registry to the index of registries in
	// $XDG_STATE_HOME and reads that index whole: keep the bench's
	// throwaway registries out of the user's, and its size out of the
	// figures.
	os.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	if *phases {
		if err := printPhases(dir); err != nil {
			fatal(err)
		}
		return
	}

	var rows []row
	for _, b := range benches {
		if *only != "" && !contains(strings.Split(*only, ","), b.key) || b.key == "against" && *against == "" {
			continue
		}
		r, err := b.run(wd, dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", b.key, err)
			r = row{name: b.name, ours: "error", ref: "-", ratio: "-", target: b.target}
		}
		r.name, r.target = b.name, b.target
		rows = append(rows, r)
	}
	stopFixtures()
	printTable(rows)
}

type bench struct {
	key, name, target string
	run               func(wd, dir string) (row, error)
}

var benches = []bench{
	{"exec", "`watchdog exec --timeout 1m -- true` vs `timeout 1m true`, median wall", "≤ 1.3×", benchExec},
	{"floor", "(for scale) the least a Go supervisor does: subscribe INT TERM HUP QUIT, fork `true`, wait; vs `timeout 1m true`", "-", benchFloor},
	{"exec-floor", "`watchdog exec --timeout 1m -- true` vs the floor, median wall", "≤ 1.5×", benchExecFloor},
	{"memory", "supervisor memory while its task runs: RssAnon / VmRSS (timeout's alongside)", "≤ 1.5 MB / ≤ 4 MB", benchMemory},
	{"signal", "deadline to first signal as the command sees it (TERM time − its start − 50 ms), beyond what `timeout` shows", "≤ 5 ms", benchSignal},
	{"registry", "registry holding 1,000 finished tasks: time added to one `exec`", "≤ 1 ms", benchRegistry},
	{"sweep", "`watchdog sweep`, 1,000 finished entries, nothing to do, median wall", "≤ 50 ms", benchSweep},
	{"docker", "`watchdog docker-run IMAGE` vs `docker run --rm IMAGE`, median wall", "≤ 1.1×", benchDocker},
	{"against", "`watchdog exec --timeout 1m -- true` vs the same with the -against binary, median wall", "-", benchAgainst},
}

// benchDocker builds a FROM scratch image around a static helper (no
// registry is reachable) and runs it both ways.
func benchDocker(wd, dir string) (row, error) {
	img := filepath.Join(dir, "img")
	os.MkdirAll(img, 0o755)
	build := exec.Command("go", "build", "-o", filepath.Join(img, "child"), "./testdata/dockerchild")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return row{}, fmt.Errorf("build helper: %v: %s", err, out)
	}
	os.WriteFile(filepath.Join(img, "Dockerfile"), []byte("FROM scratch\nCOPY child /child\nENTRYPOINT [\"/child\"]\n"), 0o644)
	if out, err := exec.Command("docker", "build", "-q", "-t", "watchdog-bench:latest", img).CombinedOutput(); err != nil {
		return row{}, fmt.Errorf("docker build: %v: %s", err, out)
	}
	n := *rounds / 10
	if n < 15 {
		n = 15
	}
	ours, ref, err := alternate(n,
		[]string{wd, "docker-run", "--id", "bench", "--timeout", "1m", "watchdog-bench:latest"},
		[]string{"docker", "run", "--rm", "watchdog-bench:latest"})
	if err != nil {
		return row{}, err
	}
	ratio := float64(ours) / float64(ref)
	return row{ours: ms(ours), ref: ms(ref), ratio: fmt.Sprintf("%.2f×", ratio), pass: ratio <= 1.1}, nil
}

// fillRegistry writes a registry of n finished tasks the way exec does.
func fillRegistry(wd, path string, n int) error {
	// One real run gives a realistic entry; its bytes are then repeated.
	os.Remove(path)
	cmd := exec.Command(wd, "--registry", path, "exec", "--id", "seed", "--timeout", "1m", "--", "true")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("seed run: %v: %s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	start := strings.Index(s, `"seed":`) + len(`"seed":`)
	end := strings.LastIndex(s, "\n}}")
	entry := s[start:end]
	var out strings.Builder
	out.WriteString(`{"tasks":{`)
	for i := 0; i < n; i++ {
		if i > 0 {
			out.WriteByte(',')
		}
		fmt.Fprintf(&out, "\n\"done-%04d\":%s", i, entry)
	}
	out.WriteString("\n}}\n")
	return os.WriteFile(path, []byte(out.String()), 0o600)
}

func benchSweep(wd, dir string) (row, error) {
	reg := filepath.Join(dir, "sweep", "process_registry.json")
	os.MkdirAll(filepath.Dir(reg), 0o700)
	if err := fillRegistry(wd, reg, 1000); err != nil {
		return row{}, err
	}
	n := *rounds / 3
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		d, err := timeRun([]string{wd, "--registry", reg, "sweep"})
		if err != nil {
			return row{}, err
		}
		ds = append(ds, d)
	}
	m := median(ds)
	return row{ours: ms(m), ref: "-", ratio: "-", pass: m <= 50*time.Millisecond}, nil
}

// floorBin is bench/floor once floorBinary has built it.
var floorBin string

// floorBinary builds bench/floor, a minimal Go supervisor, into dir (once
// per bench run: the floor and exec-floor rows share it) and returns its
// path.
func floorBinary(dir string) (string, error) {
	if floorBin != "" {
		return floorBin, nil
	}
	bin := filepath.Join(dir, "floor")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./bench/floor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build floor: %v: %s", err, out)
	}
	settle(bin)
	floorBin = bin
	return bin, nil
}

// benchFloor times bench/floor against timeout: what the Go runtime and the
// signal subscription cost before any of the watchdog's own work.
func benchFloor(wd, dir string) (row, error) {
	bin, err := floorBinary(dir)
	if err != nil {
		return row{}, err
	}
	ours, ref, err := alternate(*rounds, []string{bin}, []string{"timeout", "1m", "true"})
	if err != nil {
		return row{}, err
	}
	return row{ours: ms(ours), ref: ms(ref), ratio: fmt.Sprintf("%.2f×", float64(ours)/float64(ref)), pass: true, info: true}, nil
}

// execArgv is the exec the exec and exec-floor rows time.
func execArgv(wd string) []string {
	return []string{wd, "exec", "--id", "bench", "--timeout", "1m", "--", "true"}
}

// benchAgainst times exec with this binary and another, alternating round
// by round: what a change costs every exec, beyond the machine's drift.
func benchAgainst(wd, dir string) (row, error) {
	if *against == "" {
		return row{}, fmt.Errorf("give the other binary with -against")
	}
	other, err := filepath.Abs(*against)
	if err != nil {
		return row{}, err
	}
	ours, ref, err := alternate(*rounds, execArgv(wd), execArgv(other))
	if err != nil {
		return row{}, err
	}
	return row{ours: ms(ours), ref: ms(ref) + " (other)", ratio: fmt.Sprintf("%+.3f ms", float64((ours-ref).Microseconds())/1000), info: true}, nil
}

func benchExec(wd, dir string) (row, error) {
	ours, ref, err := alternate(*rounds, execArgv(wd), []string{"timeout", "1m", "true"})
	if err != nil {
		return row{}, err
	}
	ratio := float64(ours) / float64(ref)
	return row{ours: ms(ours), ref: ms(ref), ratio: fmt.Sprintf("%.2f×", ratio), pass: ratio <= 1.3}, nil
}

// benchExecFloor times exec against bench/floor in the same rounds: what
// the watchdog's own work (flags, registry, records, run id) costs beyond
// the least a Go supervisor must do.
func benchExecFloor(wd, dir string) (row, error) {
	bin, err := floorBinary(dir)
	if err != nil {
		return row{}, err
	}
	ours, ref, err := alternate(*rounds, execArgv(wd), []string{bin})
	if err != nil {
		return row{}, err
	}
	ratio := float64(ours) / float64(ref)
	return row{ours: ms(ours), ref: ms(ref) + " (floor)", ratio: fmt.Sprintf("%.2f×", ratio), pass: ratio <= 1.5}, nil
}

// alternate runs a and b in turn n times (after a warm-up) and returns the
// median wall time of each.
func alternate(n int, a, b []string) (time.Duration, time.Duration, error) {
	for i := 0; i < 10; i++ {
		if _, err := timeRun(a); err != nil {
			return 0, 0, err
		}
		if _, err := timeRun(b); err != nil {
			return 0, 0, err
		}
	}
	as := make([]time.Duration, 0, n)
	bs := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		d1, err := timeRun(first)
		if err != nil {
			return 0, 0, err
		}
		d2, err := timeRun(second)
		if err != nil {
			return 0, 0, err
		}
		if i%2 == 1 {
			d1, d2 = d2, d1
		}
		as, bs = append(as, d1), append(bs, d2)
	}
	return median(as), median(bs), nil
}

func timeRun(argv []string) (time.Duration, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return 0, err
	}
	start := time.Now()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Files: []*os.File{nil, devnull, os.Stderr}})
	if err != nil {
		return 0, err
	}
	st, err := p.Wait()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if !st.Success() && st.ExitCode() != 124 {
		return 0, fmt.Errorf("%s: %v", strings.Join(argv, " "), st)
	}
	return d, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func printTable(rows []row) {
	fmt.Println("| what | watchdog | reference | ratio | target | met |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		met := "no"
		if r.pass {
			met = "yes"
		}
		if r.info {
			met = "-"
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.name, r.ours, r.ref, r.ratio, r.target, met)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// printPhases builds an instrumented watchdog, runs `exec -- true` many
// times and prints the mean time at which each marked phase was reached,
// counted from the start of the process's Go code.
func printPhases(dir string) error {
	bin := filepath.Join(dir, "watchdog-phases")
	build := exec.Command("go", "build", "-trimpath", "-tags", "phasetrace", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v: %s", err, out)
	}
	settle(bin)
	out := filepath.Join(dir, "phases")
	os.Setenv("WATCHDOG_PHASES", out)
	for i := 0; i < *rounds; i++ {
		if _, err := timeRun([]string{bin, "exec", "--id", "phases", "--timeout", "1m", "--", "true"}); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	sum := map[string]float64{}
	n := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		for _, m := range strings.Split(line, "\t") {
			us, name, ok := strings.Cut(m, " ")
			v, err := strconv.ParseFloat(us, 64)
			if !ok || err != nil {
				continue
			}
			sum[name] += v
			n[name]++
		}
	}
	names := make([]string, 0, len(sum))
	for k := range sum {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return sum[names[i]]/float64(n[names[i]]) < sum[names[j]]/float64(n[names[j]]) })
	fmt.Printf("mean of %d runs of `watchdog exec --timeout 1m -- true`, registry in %s\n", *rounds, dir)
	fmt.Println("| ms | phase |")
	fmt.Println("| ---: | --- |")
	for _, k := range names {
		fmt.Printf("| %.2f | %s |\n", sum[k]/float64(n[k])/1000, k)
	}
	return nil
}

// statusKB reads fields of /proc/PID/status in kB.
func statusKB(pid int, fields ...string) (map[string]int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		for _, f := range fields {
			if v, ok := strings.CutPrefix(line, f+":"); ok {
				var n int
				fmt.Sscanf(strings.TrimSpace(v), "%d", &n)
				out[f] = n
			}
		}
	}
	return out, nil
}

// residentWhileRunning starts argv (whose command sleeps), lets it settle,
// and reads the supervisor's memory.
func residentWhileRunning(argv []string) (map[string]int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(1500 * time.Millisecond) // a benchmark: let the supervisor reach its waiting state
	return statusKB(cmd.Process.Pid, "RssAnon", "VmRSS")
}

func benchMemory(wd, dir string) (row, error) {
	ours, err := residentWhileRunning([]string{wd, "exec", "--id", "mem", "--timeout", "1m", "--", "sleep", "5"})
	if err != nil {
		return row{}, err
	}
	ref, err := residentWhileRunning([]string{"timeout", "1m", "sleep", "5"})
	if err != nil {
		return row{}, err
	}
	anon, rss := float64(ours["RssAnon"])/1024, float64(ours["VmRSS"])/1024
	return row{ours: fmt.Sprintf("%.2f MB / %.2f MB", anon, rss),
		ref:   fmt.Sprintf("%.2f MB / %.2f MB", float64(ref["RssAnon"])/1024, float64(ref["VmRSS"])/1024),
		ratio: "-", pass: anon <= 1.5 && rss <= 4}, nil
}

// benchSignal times how late the first signal comes after the deadline:
// the command (bench/sigchild) notes when it starts and when TERM reaches
// it; the time between, less the deadline, is the lateness. The timer of
// either tool starts a little before the command does, so both figures are
// slightly low, alike; the row compares them.
func benchSignal(wd, dir string) (row, error) {
	bin := filepath.Join(dir, "sigchild")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./bench/sigchild")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return row{}, fmt.Errorf("build sigchild: %v: %s", err, out)
	}
	n := *rounds / 6
	if n < 20 {
		n = 20
	}
	const deadline = 50 * time.Millisecond
	cmds := [2][]string{
		{wd, "exec", "--id", "sig", "--timeout", "0.05", "--preserve-status", "--", bin},
		{"timeout", "--preserve-status", "0.05", bin},
	}
	var late [2][]time.Duration
	for i := 0; i < n; i++ {
		for k := 0; k < 2; k++ {
			j := k ^ i%2 // alternate which goes first
			out, err := exec.Command(cmds[j][0], cmds[j][1:]...).Output()
			if err != nil {
				return row{}, fmt.Errorf("%s: %v", strings.Join(cmds[j], " "), err)
			}
			var start, got int64
			if _, err := fmt.Sscan(string(out), &start, &got); err != nil {
				return row{}, fmt.Errorf("%s: output %q: %v", strings.Join(cmds[j], " "), out, err)
			}
			late[j] = append(late[j], time.Duration(got-start)-deadline)
		}
	}
	ours, ref := late[0], late[1]
	o, r := median(ours), median(ref)
	return row{ours: ms(o), ref: ms(r), ratio: fmt.Sprintf("%+.2f ms", float64((o-r).Microseconds())/1000), pass: o-r <= 5*time.Millisecond}, nil
}

func benchRegistry(wd, dir string) (row, error) {
	full := filepath.Join(dir, "full", "process_registry.json")
	empty := filepath.Join(dir, "empty", "process_registry.json")
	os.MkdirAll(filepath.Dir(full), 0o700)
	os.MkdirAll(filepath.Dir(empty), 0o700)
	if err := fillRegistry(wd, full, 1000); err != nil {
		return row{}, err
	}
	withFull, withEmpty, err := alternate(*rounds/2,
		[]string{wd, "--registry", full, "exec", "--id", "bench", "--timeout", "1m", "--", "true"},
		[]string{wd, "--registry", empty, "exec", "--id", "bench", "--timeout", "1m", "--", "true"})
	if err != nil {
		return row{}, err
	}
	added := withFull - withEmpty
	return row{ours: ms(withFull), ref: ms(withEmpty) + " (empty)", ratio: "+" + ms(added), pass: added <= time.Millisecond}, nil
}
