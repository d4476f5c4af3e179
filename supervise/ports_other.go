//go:build !linux

package supervise

import (
	"net/netip"
	"syscall"

	gnet "github.com/shirou/gopsutil/v3/net"
	"github.com/shirou/gopsutil/v3/process"
)

// Listeners returns the listening TCP sockets (IPv4 and IPv6) on port, with
// the processes holding them. Here they come from lsof (through gopsutil),
// which shows only the sockets of processes this user may inspect: another
// user's listener is not seen at all. Inode is 0.
func Listeners(port int) ([]Listener, error) {
	conns, err := tcpListening(port)
	if err != nil {
		return nil, err
	}
	// lsof lists a socket once for each process holding it: one listener
	// per address, with the lowest pid.
	lowest := make(map[netip.AddrPort]int)
	for _, c := range conns {
		if pid, seen := lowest[c.addr]; !seen || c.pid < pid {
			lowest[c.addr] = c.pid
		}
	}
	ls := make([]Listener, 0, len(lowest))
	for addr, pid := range lowest {
		ls = append(ls, Listener{Addr: addr, PID: pid, Comm: procName(pid)})
	}
	sortListeners(ls)
	return ls, nil
}

// ListensOn reports whether any of pids holds a listening TCP socket on
// port.
func ListensOn(pids []int, port int) bool {
	if len(pids) == 0 {
		return false
	}
	conns, err := tcpListening(port)
	if err != nil {
		return false
	}
	want := make(map[int]bool, len(pids))
	for _, pid := range pids {
		want[pid] = true
	}
	for _, c := range conns {
		if want[c.pid] {
			return true
		}
	}
	return false
}

type heldSocket struct {
	addr netip.AddrPort
	pid  int
}

// tcpListening is every (socket, process) pair lsof reports in LISTEN on
// port.
func tcpListening(port int) ([]heldSocket, error) {
	if err := checkPort(port); err != nil {
		return nil, err
	}
	conns, err := gnet.Connections("tcp")
	if err != nil {
		return nil, err
	}
	var out []heldSocket
	for _, c := range conns {
		if c.Status != "LISTEN" || c.Laddr.Port != uint32(port) {
			continue
		}
		addr, ok := lsofAddr(c.Laddr.IP, c.Family)
		if !ok {
			continue
		}
		out = append(out, heldSocket{netip.AddrPortFrom(addr, uint16(port)), int(c.Pid)})
	}
	return out, nil
}

// lsofAddr parses an address as lsof prints it; "*" is the family's
// wildcard.
func lsofAddr(ip string, family uint32) (netip.Addr, bool) {
	if ip == "*" {
		if family == syscall.AF_INET6 {
			return netip.IPv6Unspecified(), true
		}
		return netip.IPv4Unspecified(), true
	}
	a, err := netip.ParseAddr(ip)
	return a, err == nil
}

// procName is the process's command name; "" when it cannot be read.
func procName(pid int) string {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return ""
	}
	name, _ := p.Name()
	return name
}
