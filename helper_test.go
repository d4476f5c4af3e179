package main

// wd-child: the helper program the test binary stands in for. It exits,
// fails, ignores or reports signals, prints its environment, holds memory,
// and leaves behind descendants of every kind a real command does.

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/supervise"
)

func childMain() {
	fs := flag.NewFlagSet("wd-child", flag.ExitOnError)
	exit := fs.Int("exit", 0, "exit with this status")
	sleep := fs.Duration("sleep", 0, "sleep this long before exiting")
	hang := fs.Bool("hang", false, "wait until killed")
	ignore := fs.String("ignore", "", "comma-separated signals to ignore")
	trap := fs.String("trap", "", "comma-separated signals to report on stdout; the first TERM/INT/HUP ends with -exit")
	env := fs.String("env", "", "print these comma-separated environment variables")
	killSelf := fs.String("kill-self", "", "die of this signal")
	pidfile := fs.String("pidfile", "", "write 'pid start-ticks' here")
	ready := fs.String("ready", "", "create this file once set up")
	spawn := fs.String("spawn", "", "comma-separated descendants to leave: grandchild, setsid, daemon, pgrp")
	dir := fs.String("dir", ".", "directory for descendants' pidfiles")
	alloc := fs.Int("alloc-mb", 0, "hold this many MiB of touched memory")
	role := fs.String("role", "", "internal: descendant role")
	signals := fs.Int("signals", 0, "with -trap: exit with -exit after this many trapped signals")
	spawnAlloc := fs.Int("spawn-alloc-mb", 0, "descendants hold this many MiB")
	spawnIgnore := fs.String("spawn-ignore", "", "descendants ignore these comma-separated signals")
	until := fs.String("until", "", "exit with -exit once this file exists")
	listen := fs.String("listen", "", "listen on this TCP address (127.0.0.1:0: a free port) until the end")
	portfile := fs.String("portfile", "", "with -listen: write the port here")
	lines := fs.Int("lines", 0, "print this many lines first: 'out N' on stdout, then 'err N' on stderr")
	every := fs.Duration("every", 0, "with -lines: wait this long before each line after the first")
	fs.Parse(os.Args[1:])
	// Hanging is this helper's job: a ticker keeps the runtime from calling
	// a program that only waits for signals deadlocked.
	go func() {
		for range time.Tick(time.Hour) {
		}
	}()

	for _, s := range split(*ignore) {
		sig, _ := supervise.ParseSignal(s)
		signal.Ignore(sig)
	}
	var trapped chan os.Signal
	if *trap != "" {
		trapped = make(chan os.Signal, 8)
		for _, s := range split(*trap) {
			sig, _ := supervise.ParseSignal(s)
			signal.Notify(trapped, sig)
		}
	}
	if *alloc > 0 {
		held = make([]byte, *alloc<<20)
		for i := 0; i < len(held); i += 4096 {
			held[i] = 1
		}
	}
	if *listen != "" {
		listenOn(*listen, *portfile)
	}
	// The pidfile is written once signal dispositions are in place (and
	// the listener), so a test that sees it knows the process already
	// ignores or traps.
	if *pidfile != "" {
		writePidfile(*pidfile)
	}
	for _, name := range split(*env) {
		v, ok := os.LookupEnv(name)
		if !ok {
			v = "<unset>"
		}
		fmt.Printf("%s=%s\n", name, v)
	}
	for i := 1; i <= *lines; i++ {
		if i > 1 {
			time.Sleep(*every) // the pace of the output under test
		}
		fmt.Fprintf(os.Stdout, "out %d\n", i)
		fmt.Fprintf(os.Stderr, "err %d\n", i)
	}
	switch *role {
	case "daemon-parent":
		// The first fork of a double fork: start the daemon, then exit so
		// it is orphaned.
		startSelf(*dir, "daemon", *ignore, *alloc, true, false)
		os.Exit(0)
	case "":
	default:
		// A descendant: hang until killed.
		select {}
	}
	for _, kind := range split(*spawn) {
		switch kind {
		case "grandchild":
			startSelf(*dir, kind, *spawnIgnore, *spawnAlloc, false, false)
		case "setsid":
			startSelf(*dir, kind, *spawnIgnore, *spawnAlloc, true, false)
		case "pgrp":
			startSelf(*dir, kind, *spawnIgnore, *spawnAlloc, false, true)
		case "daemon":
			cmd := startSelf(*dir, "daemon-parent", *spawnIgnore, *spawnAlloc, false, false)
			cmd.Wait()
			waitFile(filepath.Join(*dir, "daemon.pid"))
		default:
			fmt.Fprintf(os.Stderr, "wd-child: unknown spawn %q\n", kind)
			os.Exit(2)
		}
	}
	if *ready != "" {
		os.WriteFile(*ready, []byte("ready\n"), 0o644)
	}
	if *until != "" {
		waitFile(*until)
		os.Exit(*exit)
	}
	if *killSelf != "" {
		sig, _ := supervise.ParseSignal(*killSelf)
		signal.Reset(sig)
		supervise.Reraise(sig)
	}
	var timeout <-chan time.Time
	if *sleep > 0 {
		timeout = time.After(*sleep)
	} else if !*hang && trapped == nil {
		os.Exit(*exit)
	}
	for {
		select {
		case s := <-trapped:
			fmt.Printf("got %s\n", supervise.SignalName(s.(syscall.Signal)))
			*signals--
			if *signals == 0 || s == syscall.SIGTERM || s == syscall.SIGINT || s == syscall.SIGHUP {
				os.Exit(*exit)
			}
		case <-timeout:
			os.Exit(*exit)
		}
	}
}

// held keeps -alloc-mb memory reachable for the life of the process.
var held []byte

// listener keeps -listen's socket open for the life of the process.
var listener net.Listener

func listenOn(addr, portfile string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wd-child:", err)
		os.Exit(2)
	}
	listener = ln
	if portfile != "" {
		tmp := portfile + ".tmp"
		os.WriteFile(tmp, []byte(strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)+"\n"), 0o644)
		os.Rename(tmp, portfile)
	}
}

// startSelf starts another wd-child in a descendant role; it writes
// DIR/ROLE.pid itself.
func startSelf(dir, role, ignore string, allocMB int, setsid, setpgid bool) *exec.Cmd {
	self, err := exec.LookPath("wd-child")
	if err != nil {
		self = os.Args[0]
	}
	args := []string{"-role", role, "-dir", dir, "-ignore", ignore, "-alloc-mb", strconv.Itoa(allocMB)}
	if role != "daemon-parent" {
		args = append(args, "-pidfile", filepath.Join(dir, role+".pid"))
	}
	cmd := exec.Command(self, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid, Setpgid: setpgid}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "wd-child:", err)
		os.Exit(2)
	}
	if role != "daemon-parent" {
		waitFile(filepath.Join(dir, role+".pid"))
	}
	return cmd
}

func writePidfile(path string) {
	ticks, _ := supervise.StartTicks(os.Getpid())
	tmp := path + ".tmp"
	os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", os.Getpid(), ticks)), 0o644)
	os.Rename(tmp, path)
}

func readPidfile(path string) (pid int, ticks uint64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("%s: malformed pidfile", path)
	}
	pid, err = strconv.Atoi(f[0])
	if err == nil {
		ticks, err = strconv.ParseUint(f[1], 10, 64)
	}
	return pid, ticks, err
}

func waitFile(path string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(2 * time.Millisecond) // polling a condition, with a deadline
	}
	fmt.Fprintf(os.Stderr, "wd-child: %s did not appear\n", path)
	os.Exit(2)
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
