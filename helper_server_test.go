package main

// wd-serve: the test binary as a dev server, for exec --detach's
// readiness checks. It waits (a delay, or a file) before it listens, as a
// server that boots does; listens on 127.0.0.1 only; answers every HTTP
// request with a chosen status; prints a chosen "ready" line; and can
// instead fail, never listen, accept without answering, have a child of
// its own do the listening, or close its listener later. With -get it is
// the client: one GET, the status on stdout.

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

func serverMain() {
	fs := flag.NewFlagSet("wd-serve", flag.ExitOnError)
	port := fs.Int("port", 0, "listen on 127.0.0.1:`PORT` (0: a port the kernel chooses)")
	portfile := fs.String("portfile", "", "write the port here once listening")
	delay := fs.Duration("delay", 0, "wait this long before listening (the boot the watchdog waits for)")
	after := fs.String("after", "", "listen once this file exists")
	status := fs.Int("status", http.StatusOK, "HTTP status of every answer")
	say := fs.String("say", "", "print this line on stdout once listening ({port}: the port)")
	early := fs.String("early", "", "print this line on stdout at once, before the delay")
	fork := fs.Bool("fork", false, "a child (wd-serve again) listens; this process waits for it")
	never := fs.Bool("never", false, "never listen: print -say, then hang")
	silent := fs.Bool("silent", false, "accept connections but never answer them")
	fail := fs.Int("fail", -1, "after the delay, print -say on stderr and exit with this status instead of listening")
	closeWhen := fs.String("close-when", "", "close the listener once this `FILE` exists, then remove it, create FILE.closed, and run on")
	pidfile := fs.String("pidfile", "", "write 'pid start-ticks' here once listening (-never: at once); with -fork, the child's")
	get := fs.String("get", "", "client: GET `URL` and print its status (exit 0 on 2xx, 1 otherwise)")
	fs.Parse(os.Args[1:])
	if *get != "" {
		os.Exit(httpGet(*get))
	}
	go func() { // see childMain: a process that only waits is not deadlocked
		for range time.Tick(time.Hour) {
		}
	}()
	if *fork {
		os.Exit(forkServer())
	}
	if *early != "" {
		fmt.Println(*early)
	}
	if *delay > 0 {
		time.Sleep(*delay) // the server's boot: the system under test's timing
	}
	if *after != "" {
		waitFile(*after)
	}
	if *fail >= 0 {
		if *say != "" {
			fmt.Fprintln(os.Stderr, *say)
		}
		os.Exit(*fail)
	}
	if *never {
		if *pidfile != "" {
			writePidfile(*pidfile)
		}
		if *say != "" {
			fmt.Println(*say)
		}
		select {}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "wd-serve:", err)
		os.Exit(2)
	}
	got := ln.Addr().(*net.TCPAddr).Port
	if *pidfile != "" {
		writePidfile(*pidfile)
	}
	if *portfile != "" {
		tmp := *portfile + ".tmp"
		os.WriteFile(tmp, []byte(strconv.Itoa(got)+"\n"), 0o644)
		os.Rename(tmp, *portfile)
	}
	if *say != "" {
		fmt.Println(strings.ReplaceAll(*say, "{port}", strconv.Itoa(got)))
	}
	if *closeWhen != "" {
		go func() {
			waitFile(*closeWhen)
			ln.Close()
			os.Remove(*closeWhen) // the same command line, run again, listens until told
			os.WriteFile(*closeWhen+".closed", nil, 0o644)
		}()
	}
	if *silent {
		for {
			c, err := ln.Accept()
			if err != nil {
				select {} // closed: run on without it
			}
			silentConns = append(silentConns, c) // never answered, never closed
		}
	}
	code := *status
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		fmt.Fprintf(w, "wd-serve %d\n", os.Getpid())
	}))
	select {} // the listener was closed (-close-when): run on
}

// silentConns keeps -silent's connections open, unanswered.
var silentConns []net.Conn

// forkServer runs wd-serve again, without -fork, and waits for it: the
// listener is then the task's command's child.
func forkServer() int {
	var args []string
	for _, a := range os.Args[1:] {
		if a != "-fork" && a != "--fork" {
			args = append(args, a)
		}
	}
	self, err := exec.LookPath("wd-serve")
	if err != nil {
		self = os.Args[0]
	}
	cmd := exec.Command(self, args...)
	cmd.Args[0] = "wd-serve"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "wd-serve:", err)
		return 2
	}
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 2
	}
	return 0
}

// httpGet is -get: one request, its status on stdout.
func httpGet(url string) int {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wd-serve:", err)
		return 2
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	if resp.StatusCode/100 == 2 {
		return 0
	}
	return 1
}
