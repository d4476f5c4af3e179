// Command dockerchild is the static helper the container tests put in a
// FROM scratch image: it prints, reads stdin, exits with a code, sleeps,
// traps or ignores TERM, and prints its environment.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	out := flag.String("out", "", "print this line on stdout")
	errLine := flag.String("err", "", "print this line on stderr")
	env := flag.String("env", "", "print this variable")
	cat := flag.Bool("cat", false, "copy stdin to stdout")
	exit := flag.Int("exit", 0, "exit status")
	sleep := flag.Duration("sleep", 0, "sleep before exiting")
	hang := flag.Bool("hang", false, "wait for a signal")
	trap := flag.Bool("trap", false, "on TERM, INT or HUP say so and exit with -exit")
	ignore := flag.Bool("ignore-term", false, "ignore TERM")
	flag.Parse()
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
	if *cat {
		r := bufio.NewReader(os.Stdin)
		io.Copy(os.Stdout, r)
	}
	fmt.Println("ready")
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
