// Command sigchild prints the monotonic clock (ns) when it starts and when
// the first TERM reaches it, then exits 0. make bench runs it under a
// deadline to see how late the first signal comes.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

func now() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func main() {
	start := now()
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	<-c
	fmt.Println(start, now())
	os.Exit(0)
}
