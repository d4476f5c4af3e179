package supervise

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// procNetTCP are the kernel's tables of TCP sockets, IPv4 then IPv6 (not
// there when IPv6 is disabled). They show the network namespace of the
// process reading them: a port here means a port as this process sees it.
var procNetTCP = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// tcpListen is the state LISTEN in those tables (include/net/tcp_states.h).
const tcpListen = "0A"

// Listeners returns the listening TCP sockets (IPv4 and IPv6) on port, with
// the processes holding them where they can be seen: every process whose
// descriptors this user may read (its own; all, for root) is looked at.
func Listeners(port int) ([]Listener, error) {
	ls, err := listening(port)
	if err != nil || len(ls) == 0 {
		return nil, err
	}
	pids, err := ListPIDs()
	if err != nil {
		return nil, err
	}
	holders := socketHolders(pids, inodesOf(ls), false)
	for i := range ls {
		if pid := holders[ls[i].Inode]; pid > 0 {
			ls[i].PID, ls[i].Comm = pid, readComm(pid)
		}
	}
	sortListeners(ls)
	return ls, nil
}

// ListensOn reports whether any of pids holds a listening TCP socket on
// port. Only those processes' descriptors are read, not every process's.
func ListensOn(pids []int, port int) bool {
	if len(pids) == 0 {
		return false
	}
	ls, err := listening(port)
	if err != nil || len(ls) == 0 {
		return false
	}
	return len(socketHolders(pids, inodesOf(ls), true)) > 0
}

// listening reads the sockets in LISTEN on port from the kernel's tables;
// who holds them is left for socketHolders.
func listening(port int) ([]Listener, error) {
	if err := checkPort(port); err != nil {
		return nil, err
	}
	var out []Listener
	read := 0
	for _, path := range procNetTCP {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ls, err := parseTCPTable(f, port)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		read++
		out = append(out, ls...)
	}
	if read == 0 {
		return nil, fmt.Errorf("%s: %w (is /proc mounted?)", procNetTCP[0], fs.ErrNotExist)
	}
	return out, nil
}

// parseTCPTable returns the sockets of a /proc/net/tcp or tcp6 table that
// are in LISTEN on port. A line reads (after a header line)
//
//	sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
//	0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 123456 ...
//
// with the port in hexadecimal after the address.
func parseTCPTable(r io.Reader, port int) ([]Listener, error) {
	var out []Listener
	sc := bufio.NewScanner(r)
	for header := true; sc.Scan(); header = false {
		if header {
			continue
		}
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 {
			return nil, fmt.Errorf("malformed line %q", sc.Text())
		}
		if string(f[3]) != tcpListen {
			continue
		}
		hexAddr, hexPort, ok := bytes.Cut(f[1], []byte{':'})
		p, err := strconv.ParseUint(string(hexPort), 16, 16)
		if !ok || err != nil {
			return nil, fmt.Errorf("malformed local address %q", f[1])
		}
		if int(p) != port {
			continue
		}
		addr, err := parseHexAddr(hexAddr)
		if err != nil {
			return nil, err
		}
		ino, err := strconv.ParseUint(string(f[9]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("malformed inode %q", f[9])
		}
		out = append(out, Listener{Addr: netip.AddrPortFrom(addr, uint16(p)), Inode: ino})
	}
	return out, sc.Err()
}

// parseHexAddr decodes an address of /proc/net/tcp. The kernel prints each
// 32-bit word of it (one for IPv4, four for IPv6) as a hexadecimal number
// read in the machine's byte order, so 127.0.0.1 reads 0100007F and ::1
// reads 00000000000000000000000001000000 on a little-endian machine.
func parseHexAddr(h []byte) (netip.Addr, error) {
	if len(h) != 8 && len(h) != 32 {
		return netip.Addr{}, fmt.Errorf("malformed address %q", h)
	}
	var b [16]byte
	for i := 0; i < len(h)/8; i++ {
		w, err := strconv.ParseUint(string(h[8*i:8*i+8]), 16, 32)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("malformed address %q", h)
		}
		binary.NativeEndian.PutUint32(b[4*i:], uint32(w))
	}
	if len(h) == 8 {
		return netip.AddrFrom4([4]byte(b[:4])), nil
	}
	return netip.AddrFrom16(b), nil
}

func inodesOf(ls []Listener) map[uint64]bool {
	m := make(map[uint64]bool, len(ls))
	for _, l := range ls {
		m[l.Inode] = true
	}
	return m
}

// socketHolders maps each socket inode of want to the lowest of pids that
// holds it, from the links /proc/PID/fd/N → "socket:[INODE]". Processes
// whose descriptors cannot be read (gone, another user's) are skipped.
// With first, it returns at the first holder found.
func socketHolders(pids []int, want map[uint64]bool, first bool) map[uint64]int {
	holders := make(map[uint64]int)
	var buf [64]byte
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
		d, err := os.Open(dir)
		if err != nil {
			continue
		}
		names, _ := d.Readdirnames(-1)
		d.Close()
		for _, n := range names {
			k, err := unix.Readlink(dir+n, buf[:])
			if err != nil {
				continue
			}
			ino, ok := socketInode(buf[:k])
			if !ok || !want[ino] {
				continue
			}
			if old, seen := holders[ino]; !seen || pid < old {
				holders[ino] = pid
			}
			if first {
				return holders
			}
		}
	}
	return holders
}

// socketInode reads the inode of a descriptor link "socket:[INODE]".
func socketInode(link []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(link, []byte("socket:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	ino, err := strconv.ParseUint(string(rest[:len(rest)-1]), 10, 64)
	return ino, err == nil
}

// readComm is the process's command name; "" when it cannot be read.
func readComm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return string(bytes.TrimSuffix(b, []byte("\n")))
}
