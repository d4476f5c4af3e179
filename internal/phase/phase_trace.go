//go:build phasetrace

package phase

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Marks are relative to this package's initialisation, the earliest moment
// it can see (the process's own start time has a 10 ms resolution).
var (
	mu    sync.Mutex
	marks []string
	start = time.Now()
)

func Mark(name string) {
	d := time.Since(start)
	mu.Lock()
	marks = append(marks, strconv.FormatInt(d.Microseconds(), 10)+" "+name)
	mu.Unlock()
}

func Dump() {
	path := os.Getenv("WATCHDOG_PHASES")
	if path == "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_ = unix.Flock(int(f.Fd()), unix.LOCK_EX)
	fmt.Fprintln(f, strings.Join(marks, "\t"))
}
