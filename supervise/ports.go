package supervise

import (
	"fmt"
	"net/netip"
	"sort"
)

// Who listens on a TCP port, so that `watchdog kill --port` can find the
// task behind a port and name the process behind one that is no task's.
// Only TCP, only listening sockets: a connection to the port, or one
// accepted on it, is not a listener. Linux reads /proc (ports_linux.go);
// macOS asks lsof through gopsutil (ports_other.go).

// Listener is a listening TCP socket.
type Listener struct {
	Addr  netip.AddrPort // local address (0.0.0.0:3000, [::1]:3000 …)
	Inode uint64         // the socket's inode (Linux; 0 elsewhere)
	// PID is a process holding it, the lowest-numbered when several do (a
	// pre-forking server's workers share their parent's socket); 0 when
	// none can be seen: another user's, or another PID namespace's.
	PID  int
	Comm string // PID's command name, as the kernel keeps it (15 bytes on Linux)
}

// checkPort refuses what is not a TCP port number.
func checkPort(port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is out of range (1-65535)", port)
	}
	return nil
}

// sortListeners orders listeners by address, then pid, so that what is
// shown of them does not depend on the order the kernel lists them in.
func sortListeners(ls []Listener) {
	sort.SliceStable(ls, func(i, j int) bool {
		if c := ls[i].Addr.Compare(ls[j].Addr); c != 0 {
			return c < 0
		}
		return ls[i].PID < ls[j].PID
	})
}
