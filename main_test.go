package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/watchdog-run/watchdog/internal/testhome"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/shims"
	"github.com/watchdog-run/watchdog/supervise"
)

func TestMain(m *testing.M) {
	installFaults()
	done := testhome.Isolate()
	// A PATH shim is a symlink to this binary under a command's name;
	// testscript knows only the names below, so shims are dispatched here
	// exactly as main dispatches them.
	if base := filepath.Base(os.Args[0]); base != "watchdog" && base != "timeout" && shims.Locate(os.Args[0]) != "" {
		main()
	}
	testscript.Main(cleanupAfter{m, done}, map[string]func(){
		"watchdog": main,
		"timeout":  main, // the drop-in: main dispatches on argv[0]
		"wd-child": childMain,
		"wd-serve": serverMain,
	})
}

// cleanupAfter runs the tests, then done (testscript.Main exits).
type cleanupAfter struct {
	m    *testing.M
	done func()
}

func (c cleanupAfter) Run() int {
	defer c.done()
	defer removeTestCgroups(time.Now())
	return c.m.Run()
}

// removeTestCgroups removes the empty task cgroups made since start: those
// of supervisors in the private PID namespaces the tests start are no
// one's to remove once the namespace is gone (sweep would, after a minute).
func removeTestCgroups(start time.Time) {
	paths, _ := supervise.TaskCgroups()
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(start) {
			cg := supervise.OpenCgroup(p)
			if !cg.Populated() {
				_ = cg.Remove()
			}
		}
	}
}

// installFaults arms the test-only fault points: WATCHDOG_TEST_FAULT names a
// point of the supervisor's life at which it is killed with SIGKILL, or
// "write-enospc" to fail registry writes as a full disk would. The
// watchdog binary itself never sets these hooks.
func installFaults() {
	point := os.Getenv("WATCHDOG_TEST_FAULT")
	if point == "" {
		return
	}
	launch.FaultHook = func(p string) {
		if p == point {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		if p == "before-start" && point == "interrupt-before-start" {
			interruptSelf()
		}
	}
	if point == "late-chld" {
		supervise.SubscribeHook = awaitExitedChild
	}
	registry.FaultWrite = func([]byte) error {
		switch point {
		case "write-enospc":
			return syscall.ENOSPC
		case "while-writing":
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		return nil
	}
}

// awaitExitedChild returns once a child of this process has exited (left
// unreaped: waitid with WNOWAIT), or after waitLimit.
func awaitExitedChild() {
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		var info [128]byte // siginfo_t; si_pid is at offset 16 on 64-bit Linux
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, 0 /* P_ALL */, 0, uintptr(unsafe.Pointer(&info[0])),
			syscall.WEXITED|syscall.WNOHANG|0x01000000 /* WNOWAIT */, 0, 0)
		if errno == 0 && binary.NativeEndian.Uint32(info[16:]) != 0 {
			return
		}
	}
}

// interruptSelf sends this process TERM and returns once every
// subscriber has received it: the runtime hands signals to os/signal one at
// a time, in order, so when a WINCH sent afterwards has arrived here, the
// TERM has been delivered to the supervisor's channel too.
func interruptSelf() {
	c := make(chan os.Signal, 2)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGWINCH)
	defer signal.Stop(c)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGWINCH} {
		syscall.Kill(os.Getpid(), sig)
		for got := <-c; got != sig; got = <-c {
		}
	}
}

func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams("testdata/script"))
}

// TestSweepScripts runs the scripts that sweep for tagged processes one at
// a time, after TestScripts, in a private PID namespace: a sweep ends every
// orphaned tagged process it can see, so two such scripts must not run side
// by side, nor see the machine's processes.
func TestSweepScripts(t *testing.T) {
	if runInPrivatePIDNamespace(t) {
		return
	}
	runScriptsOneByOne(t, "testdata/sweep", scriptParams)
}

// runScriptsOneByOne runs each script of dir as a subtest of its own, one
// after the other (testscript would run them side by side), with the
// params made by params.
func runScriptsOneByOne(t *testing.T, dir string, params func(dir string) testscript.Params) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if len(files) == 0 {
		t.Fatalf("no scripts in %s", dir)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			p := params("")
			p.Files = []string{f}
			testscript.Run(t, p)
		})
	}
}

func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				// Scripts that need root (another user, namespaces) skip
				// elsewhere; CI runs as root and must run them.
				if os.Geteuid() != 0 && os.Getenv("CI") != "" {
					return false, fmt.Errorf("CI must run as root: this script needs it")
				}
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			pids := filepath.Join(env.WorkDir, "pids")
			if err := os.MkdirAll(pids, 0o755); err != nil {
				return err
			}
			env.Setenv("PIDS", pids)
			env.Setenv("WATCHDOG_REGISTRY", filepath.Join(env.WorkDir, "reg", "process_registry.json"))
			env.Setenv("NO_COLOR", "1")
			// The helper by absolute path, for commands run with env -i.
			if p, err := exec.LookPath("wd-child"); err == nil {
				env.Setenv("WDCHILD", p)
			}
			// The registry index (sweep --all) and shim data stay in the test.
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, "state"))
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, "data"))
			env.Values[envKey{}] = env.Vars
			// Whatever a failing test left behind is ended, by identity.
			env.Defer(func() { killPidfiles(pids) })
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":  cmdExitcode,
			"bg":        cmdBg,
			"waitbg":    cmdWaitbg,
			"sigbg":     cmdSigbg,
			"waitfile":  cmdWaitfile,
			"waitdead":  cmdWaitdead,
			"alive":     cmdAlive,
			"killpids":  cmdKillpids,
			"reg":       cmdReg,
			"waitreg":   cmdWaitreg,
			"filemode":  cmdFilemode,
			"chownfile": cmdChown,
			"pidvar":    cmdPidvar,
			"regput":    cmdRegput,
			"regfill":   cmdRegfill,
			"regfield":  cmdRegfield,
			"regvar":    cmdRegvar,
			"userdir":   cmdUserdir,
			"bgas":      cmdBgas,
			"mkfifo":    cmdMkfifo,
			"nsalive":   cmdNsalive,
		},
	}
}

type envKey struct{}

const waitLimit = 30 * time.Second

// scriptEnv is the script's environment as it is now.
func scriptEnv(ts *testscript.TestScript) []string {
	base := ts.Value(envKey{}).([]string)
	seen := map[string]bool{}
	var env []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		seen[k] = true
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	for _, k := range []string{"WATCHDOG_TEST_FAULT", "WATCHDOG_TIMEOUT", "XDG_STATE_HOME", "XDG_DATA_HOME", "DOCKER_HOST", "SECRET"} {
		if v := ts.Getenv(k); v != "" && !seen[k] {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// statusOf renders how a command ended: its exit code, or "SIG" for a
// signal (e.g. "TERM").
func statusOf(err error) string {
	if err == nil {
		return "0"
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return "error: " + err.Error()
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return supervise.SignalName(ws.Signal())
	}
	return strconv.Itoa(ws.ExitStatus())
}

// exitcode WANT cmd args...: run a command and check its exact exit status
// (a number, or a signal name for a command that died of a signal).
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N|SIGNAL command [args...]")
	}
	err := ts.Exec(args[1], args[2:]...)
	if got := statusOf(err); got != args[0] {
		ts.Fatalf("%s exited %s, want %s", args[1], got, args[0])
	}
}

type bgCmd struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan error
}

var bgs sync.Map // *testscript.TestScript+name -> *bgCmd

func bgKey(ts *testscript.TestScript, name string) string {
	return fmt.Sprintf("%p/%s", ts, name)
}

// bg NAME cmd args...: start a command in the background.
func cmdBg(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: bg NAME command [args...]")
	}
	path, err := lookPath(ts, args[1])
	ts.Check(err)
	startBg(ts, args[0], path, args[1:], nil, nil)
}

// startBg starts argv (argv[0] found at path) in the background under
// name, as another user when cred is set, with extra environment entries.
func startBg(ts *testscript.TestScript, name, path string, argv []string, cred *syscall.Credential, env []string) {
	b := &bgCmd{cmd: exec.Command(path, argv[1:]...), done: make(chan error, 1)}
	b.cmd.Args[0] = argv[0]
	b.cmd.Dir = ts.MkAbs(".")
	b.cmd.Env = append(scriptEnv(ts), env...)
	if cred != nil {
		b.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		b.cmd.Dir = "/"
	}
	b.cmd.Stdout, b.cmd.Stderr = &b.stdout, &b.stderr
	// Orphans the command leaves may hold its output pipes open: do not
	// wait for them once the command itself has ended.
	b.cmd.WaitDelay = 2 * time.Second
	ts.Check(b.cmd.Start())
	go func() { b.done <- b.cmd.Wait() }()
	bgs.Store(bgKey(ts, name), b)
	ts.Defer(func() {
		select {
		case <-b.done:
		default:
			b.cmd.Process.Kill()
			<-b.done
		}
	})
}

func lookPath(ts *testscript.TestScript, name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in $PATH", name)
}

// waitbg NAME WANT: wait for a background command and check its status;
// its output becomes stdout/stderr for the following checks.
func cmdWaitbg(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitbg NAME N|SIGNAL")
	}
	v, ok := bgs.Load(bgKey(ts, args[0]))
	if !ok {
		ts.Fatalf("no background command %s", args[0])
	}
	b := v.(*bgCmd)
	var err error
	select {
	case err = <-b.done:
		b.done <- err
	case <-time.After(waitLimit):
		ts.Fatalf("%s did not end within %v", args[0], waitLimit)
	}
	ts.Stdout().Write(b.stdout.Bytes())
	ts.Stderr().Write(b.stderr.Bytes())
	if got := statusOf(err); got != args[1] {
		ts.Fatalf("%s exited %s, want %s\nstderr:\n%s", args[0], got, args[1], b.stderr.String())
	}
}

// sigbg NAME SIGNAL: signal a background command.
func cmdSigbg(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sigbg NAME SIGNAL")
	}
	v, ok := bgs.Load(bgKey(ts, args[0]))
	if !ok {
		ts.Fatalf("no background command %s", args[0])
	}
	sig, err := supervise.ParseSignal(args[1])
	ts.Check(err)
	ts.Check(v.(*bgCmd).cmd.Process.Signal(sig))
}

// waitfile FILE...: wait until each file exists.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		path := ts.MkAbs(f)
		if !waitFor(func() bool { _, err := os.Stat(path); return err == nil }) {
			ts.Fatalf("%s did not appear within %v", f, waitLimit)
		}
	}
}

// waitFor polls a condition until it holds or the limit passes.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(waitLimit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pidAlive reports whether the pidfile's process is alive (not a zombie)
// and is the same process (start time).
func pidAlive(ts *testscript.TestScript, f string) bool {
	pid, ticks, err := readPidfile(ts.MkAbs(f))
	ts.Check(err)
	return supervise.SameProcess(pid, ticks)
}

// waitdead PIDFILE...: wait until each process is gone (or a zombie).
func cmdWaitdead(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		if !waitFor(func() bool { return !pidAlive(ts, f) }) {
			ts.Fatalf("process of %s still alive after %v", f, waitLimit)
		}
	}
}

// alive PIDFILE...: each process is alive now (! alive: each is gone now).
func cmdAlive(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		if a := pidAlive(ts, f); a == neg {
			ts.Fatalf("process of %s: alive=%v", f, a)
		}
	}
}

// killpids PIDFILE...: KILL the processes (same identity only): cleanup
// after a contrast run that is meant to leave them.
func cmdKillpids(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		pid, ticks, err := readPidfile(ts.MkAbs(f))
		ts.Check(err)
		if supervise.SameProcess(pid, ticks) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func killPidfiles(dir string) {
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".pid") {
			files = append(files, p)
		}
		return nil
	})
	for _, f := range files {
		if pid, ticks, err := readPidfile(f); err == nil && pid > 1 && supervise.SameProcess(pid, ticks) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// reg ID KEY=VALUE...: check fields of a registry entry. KEY is a dotted
// path (native.pid); VALUE is compared with the field rendered as JSON,
// strings unquoted; "KEY?" checks presence and "!KEY" absence.
func cmdReg(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: reg ID KEY=VALUE...")
	}
	if msg := regMismatch(ts, args[0], args[1:]); msg != "" {
		ts.Fatalf("%s", msg)
	}
}

// waitreg ID KEY=VALUE...: wait until the registry entry matches.
func cmdWaitreg(ts *testscript.TestScript, neg bool, args []string) {
	var msg string
	if !waitFor(func() bool { msg = regMismatch(ts, args[0], args[1:]); return msg == "" }) {
		ts.Fatalf("after %v: %s", waitLimit, msg)
	}
}

// regvar ID KEY NAME: set $NAME to a field of a registry entry (rendered
// as reg compares it).
func cmdRegvar(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: regvar ID KEY NAME")
	}
	task, msg := regTask(ts, args[0])
	if msg != "" {
		ts.Fatalf("%s", msg)
	}
	v, ok := lookup(task, args[1])
	if !ok {
		ts.Fatalf("task %s: no field %s", args[0], args[1])
	}
	ts.Setenv(args[2], render(v))
}

// regTask reads one entry of $WATCHDOG_REGISTRY; the message says why not.
func regTask(ts *testscript.TestScript, id string) (map[string]any, string) {
	path := ts.Getenv("WATCHDOG_REGISTRY")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err.Error()
	}
	var doc struct {
		Tasks map[string]json.RawMessage `json:"tasks"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Sprintf("registry does not parse: %v", err)
	}
	raw, ok := doc.Tasks[id]
	if !ok {
		return nil, fmt.Sprintf("no task %q in registry", id)
	}
	var task map[string]any
	if err := json.Unmarshal(raw, &task); err != nil {
		return nil, fmt.Sprintf("task %q is not an object: %v", id, err)
	}
	return task, ""
}

func regMismatch(ts *testscript.TestScript, id string, checks []string) string {
	task, msg := regTask(ts, id)
	if msg != "" {
		return msg
	}
	for _, c := range checks {
		switch {
		case strings.HasSuffix(c, "?"):
			if _, ok := lookup(task, strings.TrimSuffix(c, "?")); !ok {
				return fmt.Sprintf("task %s: no field %s", id, c)
			}
		case strings.HasPrefix(c, "!"):
			if _, ok := lookup(task, c[1:]); ok {
				return fmt.Sprintf("task %s: field %s should be absent", id, c[1:])
			}
		default:
			k, want, _ := strings.Cut(c, "=")
			v, ok := lookup(task, k)
			if !ok {
				return fmt.Sprintf("task %s: no field %s", id, k)
			}
			got := render(v)
			if got != want {
				return fmt.Sprintf("task %s: %s = %s, want %s", id, k, got, want)
			}
		}
	}
	return ""
}

func lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = mm[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// filemode PATH MODE: check permission bits (octal).
func cmdFilemode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: filemode PATH MODE")
	}
	fi, err := os.Lstat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fmt.Sprintf("%04o", fi.Mode().Perm()); got != args[1] {
		ts.Fatalf("%s: mode %s, want %s", args[0], got, args[1])
	}
}

// chownfile PATH UID: give a file to another user (tests run as root, or
// skip this check).
func cmdChown(ts *testscript.TestScript, neg bool, args []string) {
	uid, err := strconv.Atoi(args[1])
	ts.Check(err)
	ts.Check(os.Lchown(ts.MkAbs(args[0]), uid, uid))
}

// pidvar PIDFILE NAME: set $NAME_PID, $NAME_TICKS and $NAME_LSTART (the
// earlier tool's `ps` start time) from a pidfile.
func cmdPidvar(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: pidvar PIDFILE NAME")
	}
	pid, ticks, err := readPidfile(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Setenv(args[1]+"_PID", strconv.Itoa(pid))
	ts.Setenv(args[1]+"_TICKS", strconv.FormatUint(ticks, 10))
	ts.Setenv(args[1]+"_LSTART", supervise.FormatLstart(ticks))
}

// regput ID JSON: store a raw entry in the registry (under its lock), as
// another writer or the earlier tool would.
func cmdRegput(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: regput ID JSON")
	}
	s, err := registry.Open(ts.Getenv("WATCHDOG_REGISTRY"))
	ts.Check(err)
	var t registry.Task
	if err := json.Unmarshal([]byte(args[1]), &t); err != nil {
		ts.Fatalf("regput: %v", err)
	}
	ts.Check(s.Update(func(r *registry.Registry) error { r.Put(args[0], &t); return nil }))
}

// regfield ID NAME JSON: set a top-level field of an entry (under the
// lock), as another writer would, leaving the rest of its bytes as they are.
func cmdRegfield(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: regfield ID NAME JSON")
	}
	s, err := registry.Open(ts.Getenv("WATCHDOG_REGISTRY"))
	ts.Check(err)
	ts.Check(s.Update(func(r *registry.Registry) error {
		raw, ok := r.Raw(args[0])
		if !ok {
			return fmt.Errorf("no entry %s", args[0])
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		m[args[1]] = json.RawMessage(args[2])
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		r.PutRaw(args[0], b)
		return nil
	}))
}

// regfill N: add N finished tasks (done-0000...), completed a day apart
// going back from now, in one update.
func cmdRegfill(ts *testscript.TestScript, neg bool, args []string) {
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	s, err := registry.Open(ts.Getenv("WATCHDOG_REGISTRY"))
	ts.Check(err)
	now := time.Now()
	ts.Check(s.Update(func(r *registry.Registry) error {
		for i := 0; i < n; i++ {
			at := registry.FormatTime(now.Add(-time.Duration(i+1) * time.Minute))
			code := 0
			r.Put(fmt.Sprintf("done-%04d", i), &registry.Task{Mode: registry.ModeNative, Command: "true", Status: registry.StatusCompleted,
				StartedAt: at, CompletedAt: at, ExitCode: &code, ConstitutionRules: []string{}})
		}
		return nil
	}))
}
