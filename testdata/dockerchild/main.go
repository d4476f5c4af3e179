// Command dockerchild is the static helper the container tests put in a
// FROM scratch image: it prints, reads stdin, exits with a code, sleeps
// (silent, or printing a line every -tick), traps or ignores TERM, and
// prints its environment; for docker-run's docker run options it serves a
// port, reads and writes files, and prints a file system's size and its
// effective capabilities.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// hello is what -listen writes to each connection.
const hello = "hello from the container\n"

func main() {
	out := flag.String("out", "", "print this line on stdout")
	errLine := flag.String("err", "", "print this line on stderr")
	env := flag.String("env", "", "print this variable")
	cat := flag.Bool("cat", false, "copy stdin to stdout")
	exit := flag.Int("exit", 0, "exit status")
	sleep := flag.Duration("sleep", 0, "sleep before exiting")
	tick := flag.Duration("tick", 0, "after ready, print a line this often until the end")
	hang := flag.Bool("hang", false, "wait for a signal")
	trap := flag.Bool("trap", false, "on TERM, INT or HUP say so and exit with -exit")
	ignore := flag.Bool("ignore-term", false, "ignore TERM")
	listen := flag.String("listen", "", "accept connections on this TCP port and write a line to each")
	read := flag.String("read", "", "print this file's contents")
	write := flag.String("write", "", "write a line to this file and say whether it worked")
	statfs := flag.String("statfs", "", "print the size of the file system at this path")
	caps := flag.Bool("caps", false, "print the effective capabilities (CapEff of /proc/self/status)")
	flag.Parse()
	if *listen != "" {
		// Bound before "ready", so a client may connect once it reads it.
		l, err := net.Listen("tcp", ":"+*listen)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				io.WriteString(c, hello)
				c.Close()
			}
		}()
	}
	if *ignore {
		signal.Ignore(syscall.SIGTERM)
	}
	sigs := make(chan os.Signal, 4)
	if *trap {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	}
	if *out != "" {
		fmt.Println(*out)
	}
	if *errLine != "" {
		fmt.Fprintln(os.Stderr, *errLine)
	}
	if *env != "" {
		fmt.Printf("%s=%s\n", *env, os.Getenv(*env))
	}
	if *read != "" {
		b, err := os.ReadFile(*read)
		if err != nil {
			fmt.Printf("read: %v\n", err)
		} else {
			fmt.Printf("read: %s\n", b)
		}
	}
	if *write != "" {
		if err := os.WriteFile(*write, []byte("written\n"), 0o644); err != nil {
			fmt.Printf("write: %v\n", err)
		} else {
			fmt.Println("write: ok")
		}
	}
	if *statfs != "" {
		var st syscall.Statfs_t
		if err := syscall.Statfs(*statfs, &st); err != nil {
			fmt.Printf("statfs: %v\n", err)
		} else {
			fmt.Printf("statfs: %d bytes\n", int64(st.Blocks)*int64(st.Bsize))
		}
	}
	if *caps {
		b, _ := os.ReadFile("/proc/self/status")
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "CapEff:") {
				fmt.Println(strings.Join(strings.Fields(line), " "))
			}
		}
	}
	if *cat {
		r := bufio.NewReader(os.Stdin)
		io.Copy(os.Stdout, r)
	}
	fmt.Println("ready")
	if *tick > 0 {
		go func() {
			for n := 1; ; n++ {
				time.Sleep(*tick)
				fmt.Printf("tick %d\n", n)
			}
		}()
	}
	var wait <-chan time.Time
	switch {
	case *sleep > 0:
		wait = time.After(*sleep)
	case *hang || *trap || *ignore:
		// Until a signal ends it: a ticker keeps the runtime from calling
		// an all-asleep program deadlocked.
		wait = make(chan time.Time)
		go func() {
			for range time.Tick(time.Hour) {
			}
		}()
	default:
		os.Exit(*exit)
	}
	select {
	case s := <-sigs:
		fmt.Printf("got %v\n", s)
		os.Exit(*exit)
	case <-wait:
		os.Exit(*exit)
	}
}
