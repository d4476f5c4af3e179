package supervise

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// How a blocked read is found. Only the given pids are read, never all of
// /proc, and for each the cheap files first:
//
//  1. /proc/PID/task's link count (a stat) is its number of threads plus
//     two. A multi-threaded process has each thread read (up to
//     maxInputThreads): a Go program reads stdin on whichever thread its
//     goroutine runs.
//  2. /proc/PID/syscall: the call it sleeps in (numbers per architecture,
//     inputwait_linux_ARCH.go) and its arguments; only when that is a read
//     is /proc/PID/stat read, to confirm it sleeps (S). read, readv, pread64,
//     preadv, preadv2, recvfrom and recvmsg name their fd. poll, ppoll,
//     select and pselect6 name theirs in the caller's memory, read with
//     process_vm_readv (the same right as reading the syscall file);
//     epoll_wait and kin name an epoll fd whose targets its
//     /proc/PID/fdinfo lists.
//  3. /proc/PID/fd/N: what that fd is (readlink; stat for a FIFO or a
//     terminal under another name), and for a pipe or socket who holds the
//     other end among the members: their /proc/M/fd links, the write end
//     told by the link's mode, which the kernel sets from the file's
//     access mode (as fdinfo's flags would say, in one lstat), and a unix
//     socket's peer from the kernel's unix_diag.
//
// /proc/PID/syscall needs the right to ptrace the process; under Yama's
// ptrace_scope 1 only ancestors have it, so `watchdog check` in another
// shell does not. Then /proc/PID/wchan, which the weaker read right
// allows, names the kernel function it sleeps in: a pipe read
// (pipe_read; anon_pipe_read or fifo_pipe_read on newer kernels) or a
// terminal read (n_tty_read, or wait_woken, where sockets sleep too). That
// says what kind of file, not which: it is reported when the process has
// exactly one such file open for reading, and otherwise nothing is said.

// maxInputThreads bounds the threads read in one process.
const maxInputThreads = 64

// maxPolled bounds the fds read from a poll's array or a select's set.
const maxPolled = 1024

// inputCall is how a system call names the fds it waits to read.
type inputCall uint8

const (
	readCall   inputCall = iota + 1 // the fd is the first argument
	pollCall                        // struct pollfd[arg1] at arg0
	selectCall                      // nfds arg0, the read set at arg1
	epollCall                       // the epoll fd is the first argument
)

// fileKind is what kind of file an fd is, as far as input goes.
type fileKind uint8

const (
	pipeFile fileKind = 1 << iota // a pipe or a FIFO
	terminalFile
	socketFile
)

// InputWaits returns the processes among pids that are blocked reading
// input, in pid order (a process's several fds in fd order). The pids are
// the task's processes, its members, and what counts as input follows
// from that:
//
//   - a terminal, on any fd: somebody has to type;
//   - a pipe or FIFO, on any fd, when no member holds its write end: from
//     the task's point of view nobody writes it, though a process outside
//     may hold it (the watchdog's caller, for one). A member blocked on a
//     pipe another member writes is a pipeline waiting on its producer,
//     and the producer is the story: not reported. Nor is a reader that
//     holds the write end itself (the self-pipe a signal handler writes);
//   - a socket on stdin, unless its other end is a member's (a unix socket
//     whose peer unix_diag names: node gives its children socketpairs as
//     stdin). "a socket nobody writes" when the peer is known and outside
//     the task, "a socket" when it cannot be known (TCP, no unix_diag).
//     Sockets on other fds are the program's own traffic, not input.
//
// A process in poll, select or epoll_wait is reported for each such file
// among those it waits on, with Others counting the rest. Regular files,
// eventfds, timerfds and the like are never input. Processes that cannot
// be read (gone, another user's) are skipped quietly.
func InputWaits(pids []int) []InputWait {
	s := newInputScan(pids)
	defer s.close()
	var out []InputWait
	for _, r := range s.scan() {
		if r.input {
			out = append(out, r.InputWait)
		}
	}
	return out
}

// blockedRead is one file a member sleeps reading, input or not: a pipe a
// member writes has Detail "a pipe pid N (comm) writes".
type blockedRead struct {
	InputWait
	input bool // what InputWaits reports
}

// inputScan is one InputWaits call: the members, and what is read once
// for all of them.
type inputScan struct {
	pids      []int
	all       bool               // scan keeps the reads that are not input too (tests)
	wchanOnly bool               // as if /proc/PID/syscall were unreadable (tests)
	holders   map[string][]fdRef // link → members' fds; built on first need
	comms     map[int]string     // pid → comm
	diag      int                // NETLINK_SOCK_DIAG socket; 0 not opened, -1 unavailable
	diagSeq   uint32             // the last request's sequence number
	buf       [1024]byte         // for small kernel files, read one at a time
}

type fdRef struct{ pid, fd int }

// fdWait is an fd a thread waits to read; others counts the other fds of
// its poll.
type fdWait struct{ fd, others int }

func newInputScan(pids []int) *inputScan {
	p := slices.DeleteFunc(slices.Clone(pids), func(pid int) bool { return pid <= 0 })
	slices.Sort(p)
	return &inputScan{pids: slices.Compact(p)}
}

func (s *inputScan) close() {
	if s.diag > 0 {
		unix.Close(s.diag)
	}
}

// scan is every blocked read among the members.
func (s *inputScan) scan() []blockedRead {
	var out []blockedRead
	for _, pid := range s.pids {
		out = append(out, s.process(pid)...)
	}
	return out
}

// process is what one process sleeps reading.
func (s *inputScan) process(pid int) []blockedRead {
	dir := "/proc/" + strconv.Itoa(pid)
	var st unix.Stat_t
	if unix.Stat(dir+"/task", &st) != nil {
		return nil
	}
	var waits []fdWait
	if st.Nlink > 3 {
		waits = s.threads(pid, dir)
	} else {
		waits = s.thread(pid, pid, dir)
	}
	var out []blockedRead
	for _, w := range waits {
		if slices.ContainsFunc(out, func(r blockedRead) bool { return r.FD == w.fd }) {
			continue // two threads, one file
		}
		if r, ok := s.classify(pid, w.fd); ok && (r.input || s.all) {
			r.PID, r.Comm, r.Others = pid, s.comm(pid), w.others
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b blockedRead) int { return a.FD - b.FD })
	return out
}

// threads is what the threads of a multi-threaded process wait to read.
func (s *inputScan) threads(pid int, dir string) []fdWait {
	tids := dirNames(dir+"/task", maxInputThreads)
	var out []fdWait
	for _, t := range tids {
		if tid, err := strconv.Atoi(t); err == nil {
			out = append(out, s.thread(pid, tid, dir+"/task/"+t)...)
		}
	}
	return out
}

// thread is what one thread sleeps waiting to read; dir is /proc/PID or
// /proc/PID/task/TID.
func (s *inputScan) thread(pid, tid int, dir string) []fdWait {
	waits, ok := s.syscallWaits(pid, tid, dir)
	if !ok {
		waits = s.wchanWait(pid, dir)
	}
	if len(waits) == 0 || !s.sleeping(dir) {
		return nil
	}
	return waits
}

// syscallWaits reads /proc/PID/syscall's "NR ARG0 ARG1 …" ("running", or
// "-1 SP PC" outside a system call, name nothing); false when it cannot.
func (s *inputScan) syscallWaits(pid, tid int, dir string) ([]fdWait, bool) {
	if s.wchanOnly || inputCalls == nil {
		return nil, false
	}
	b, err := s.read(dir + "/syscall")
	if err != nil {
		return nil, false
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return nil, true
	}
	nr, err := strconv.Atoi(string(f[0]))
	call, ok := inputCalls[nr]
	if err != nil || !ok {
		return nil, true
	}
	a0, a1 := hexArg(f[1]), hexArg(f[2])
	var fds []int
	switch call {
	case readCall:
		return []fdWait{{fd: int(int32(a0))}}, true
	case pollCall:
		fds = polledFDs(tid, a0, a1)
	case selectCall:
		fds = selectedFDs(tid, a1, a0)
	case epollCall:
		fds = s.epollFDs(pid, int(int32(a0)))
	}
	out := make([]fdWait, len(fds))
	for i, fd := range fds {
		out[i] = fdWait{fd: fd, others: len(fds) - 1}
	}
	return out, true
}

func hexArg(b []byte) uint64 {
	n, _ := strconv.ParseUint(string(bytes.TrimPrefix(b, []byte("0x"))), 16, 64)
	return n
}

// pollRdNorm is POLLRDNORM of asm-generic/poll.h, which x/sys/unix lacks.
const pollRdNorm = 0x40

// polledFDs are the fds a poll's array asks to read.
func polledFDs(tid int, addr, n uint64) []int {
	n = min(n, maxPolled)
	if addr == 0 || n == 0 {
		return nil
	}
	buf := make([]byte, 8*n) // struct pollfd { int fd; short events, revents; }
	if !readMemory(tid, addr, buf) {
		return nil
	}
	var fds []int
	for i := 0; i < len(buf); i += 8 {
		fd := int(int32(binary.NativeEndian.Uint32(buf[i:])))
		events := binary.NativeEndian.Uint16(buf[i+4:])
		if fd >= 0 && events&(unix.POLLIN|pollRdNorm) != 0 && !slices.Contains(fds, fd) {
			fds = append(fds, fd)
		}
	}
	return fds
}

// selectedFDs are the fds in a select's read set, a bitmap whose bytes
// are in fd order on little-endian machines (all those with a table).
func selectedFDs(tid int, addr, nfds uint64) []int {
	nfds = min(nfds, maxPolled)
	if addr == 0 || nfds == 0 {
		return nil
	}
	buf := make([]byte, (nfds+7)/8)
	if !readMemory(tid, addr, buf) {
		return nil
	}
	var fds []int
	for fd := 0; fd < int(nfds); fd++ {
		if buf[fd/8]&(1<<(fd%8)) != 0 {
			fds = append(fds, fd)
		}
	}
	return fds
}

// readMemory reads the process's memory at addr into buf.
func readMemory(tid int, addr uint64, buf []byte) bool {
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}
	n, err := unix.ProcessVMReadv(tid, local, remote, 0)
	return err == nil && n == len(buf)
}

// epollFDs are the fds an epoll instance waits to read, from its fdinfo
// lines "tfd: 5 events: 19 data: …". A tfd is the fd number when it was
// added; an fd closed and reused since would be misread, which is rare.
func (s *inputScan) epollFDs(pid, epfd int) []int {
	b, err := s.read("/proc/" + strconv.Itoa(pid) + "/fdinfo/" + strconv.Itoa(epfd))
	if err != nil {
		return nil
	}
	var fds []int
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("tfd:"))
		f := bytes.Fields(rest)
		if !ok || len(f) < 3 || string(f[1]) != "events:" {
			continue
		}
		fd, err1 := strconv.Atoi(string(f[0]))
		events, err2 := strconv.ParseUint(string(f[2]), 16, 32)
		if err1 == nil && err2 == nil && events&(unix.EPOLLIN|unix.EPOLLRDNORM) != 0 {
			fds = append(fds, fd)
		}
	}
	return fds
}

// wchanKinds are the kernel functions a reading thread sleeps in, as
// /proc/PID/wchan names them, and what kind of file each reads.
var wchanKinds = map[string]fileKind{
	"pipe_read":      pipeFile,
	"anon_pipe_read": pipeFile,
	"fifo_pipe_read": pipeFile,
	"n_tty_read":     terminalFile,
	"wait_woken":     terminalFile | socketFile,
}

// wchanWait is the fallback when /proc/PID/syscall cannot be read: the
// process's one readable file of the kind its wchan says it reads.
func (s *inputScan) wchanWait(pid int, dir string) []fdWait {
	b, err := s.read(dir + "/wchan")
	if err != nil {
		return nil
	}
	kinds := wchanKinds[string(bytes.TrimSpace(b))]
	if kinds == 0 {
		return nil
	}
	fd := onlyReadable(pid, kinds)
	if fd < 0 {
		return nil
	}
	return []fdWait{{fd: fd}}
}

// onlyReadable is the lowest fd of the one file of those kinds the
// process has open for reading; -1 if it has none or several, or if that
// one is a socket (wait_woken is too common to claim a socket on it).
func onlyReadable(pid int, kinds fileKind) int {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	names := dirNames(dir, -1)
	var buf [256]byte
	only, lowest := "", -1
	for _, n := range names {
		k, err := unix.Readlink(dir+n, buf[:])
		if err != nil {
			continue
		}
		link := string(buf[:k])
		fd, _ := strconv.Atoi(n)
		if linkKind(link)&kinds == 0 || !fdMode(dir+n, 0o400) {
			continue
		}
		switch {
		case only == "":
			only, lowest = link, fd
		case link != only:
			return -1
		case fd < lowest:
			lowest = fd
		}
	}
	if linkKind(only) == socketFile {
		return -1
	}
	return lowest
}

// fdMode reports whether the /proc/PID/fd link has the permission bits
// bit: 0400 for a file open for reading, 0200 for writing.
func fdMode(path string, bit uint32) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Mode&bit != 0
}

// linkKind is the kind of file a /proc/PID/fd link names, from the name
// alone.
func linkKind(link string) fileKind {
	switch {
	case strings.HasPrefix(link, "pipe:["):
		return pipeFile
	case strings.HasPrefix(link, "socket:["):
		return socketFile
	case isTerminalPath(link):
		return terminalFile
	}
	return 0
}

func isTerminalPath(p string) bool {
	switch {
	case p == "/dev/console":
		return true
	case strings.HasPrefix(p, "/dev/pts/"):
		return p != "/dev/pts/ptmx" // the master side reads a program's output
	}
	return strings.HasPrefix(p, "/dev/tty") // tty, tty1, ttyS0, ttyUSB0
}

// classify says what the file pid reads on fd is, and whether that is
// input by InputWaits' rules; false for a file that is never input.
func (s *inputScan) classify(pid, fd int) (blockedRead, bool) {
	path := "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(fd)
	link, err := os.Readlink(path)
	if err != nil {
		return blockedRead{}, false
	}
	r := blockedRead{InputWait: InputWait{FD: fd, On: "fd " + strconv.Itoa(fd)}}
	if fd == 0 {
		r.On = "stdin"
	}
	kind := linkKind(link)
	if kind == 0 {
		kind = statKind(path)
	}
	switch kind {
	case terminalFile:
		r.input = true
		r.Detail = "a terminal"
		if fd == 0 {
			r.Detail = "the terminal " + link
		} else {
			r.On = link
		}
	case pipeFile:
		if !strings.HasPrefix(link, "pipe:[") && fd != 0 {
			r.On = link // a FIFO's path
		}
		if w, ok := s.holder(link, true); ok && !s.all {
			return r, true // not input; its Detail is only for scan's callers
		} else if ok {
			r.Detail = "a pipe pid " + strconv.Itoa(w.pid) + s.commSuffix(w.pid) + " writes"
		} else {
			r.input, r.Detail = true, "a pipe nobody writes"
		}
	case socketFile:
		r.input, r.Detail = fd == 0, "a socket"
		if !r.input && !s.all {
			return r, true // another fd's socket is traffic, not input
		}
		if peer, ok := s.unixPeer(link); ok {
			if h, ok := s.holder("socket:["+strconv.FormatUint(uint64(peer), 10)+"]", false); ok {
				r.input = false
				if !s.all {
					return r, true
				}
				r.Detail = "a socket connected to pid " + strconv.Itoa(h.pid) + s.commSuffix(h.pid)
			} else {
				r.Detail = "a socket nobody writes"
			}
		}
	default:
		return blockedRead{}, false
	}
	return r, true
}

// statKind is the kind of a file whose link does not say: a FIFO, or a
// pseudo-terminal whose path is another mount namespace's.
func statKind(path string) fileKind {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return 0
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return pipeFile
	case unix.S_IFCHR:
		if m := unix.Major(uint64(st.Rdev)); m >= 136 && m <= 143 { // UNIX98_PTY_SLAVE_MAJOR
			return terminalFile
		}
	}
	return 0
}

// holder is the first member fd with link open (for writing, if write).
func (s *inputScan) holder(link string, write bool) (fdRef, bool) {
	if s.holders == nil {
		s.indexHolders()
	}
	for _, h := range s.holders[link] {
		if !write || fdMode("/proc/"+strconv.Itoa(h.pid)+"/fd/"+strconv.Itoa(h.fd), 0o200) {
			return h, true
		}
	}
	return fdRef{}, false
}

// indexHolders reads every member's open files once.
func (s *inputScan) indexHolders() {
	s.holders = make(map[string][]fdRef)
	var buf [256]byte
	for _, pid := range s.pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
		for _, n := range dirNames(dir, -1) {
			k, err := unix.Readlink(dir+n, buf[:])
			if err != nil {
				continue
			}
			link := string(buf[:k])
			fd, _ := strconv.Atoi(n)
			s.holders[link] = append(s.holders[link], fdRef{pid, fd})
		}
	}
}

// unixPeer is the inode of the other end of a unix socket, asked of the
// kernel's unix_diag (NETLINK_SOCK_DIAG); false for other sockets, and
// when the kernel has no unix_diag.
func (s *inputScan) unixPeer(link string) (uint32, bool) {
	ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 32)
	if err != nil {
		return 0, false
	}
	if s.diag == 0 {
		s.diag = -1
		if fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG); err == nil {
			s.diag = fd
		}
	}
	if s.diag < 0 {
		return 0, false
	}
	s.diagSeq++
	// struct nlmsghdr, then struct unix_diag_req (linux/unix_diag.h).
	const udiagShowPeer, unixDiagPeer = 0x4, 2
	ne := binary.NativeEndian
	req := make([]byte, 16+24)
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], s.diagSeq)
	req[16] = unix.AF_UNIX
	ne.PutUint32(req[20:], ^uint32(0)) // any state
	ne.PutUint32(req[24:], uint32(ino))
	ne.PutUint32(req[28:], udiagShowPeer)
	ne.PutUint64(req[32:], ^uint64(0)) // no cookie: look up by inode alone
	if unix.Sendto(s.diag, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}) != nil {
		return 0, false
	}
	// The kernel answers within sendto: the reply is queued already.
	n, _, err := unix.Recvfrom(s.diag, s.buf[:], unix.MSG_DONTWAIT)
	if err != nil || n < 16+16 {
		return 0, false
	}
	b := s.buf[:n]
	if ne.Uint16(b[4:]) != unix.SOCK_DIAG_BY_FAMILY || ne.Uint32(b[8:]) != s.diagSeq {
		return 0, false // NLMSG_ERROR: not a unix socket, or no unix_diag
	}
	// struct unix_diag_msg, then attributes: u16 length, u16 type, value.
	attrs := b[16+16 : min(int(ne.Uint32(b[0:])), n)]
	for len(attrs) >= 4 {
		l := int(ne.Uint16(attrs[0:]))
		if l < 4 || l > len(attrs) {
			break
		}
		if ne.Uint16(attrs[2:]) == unixDiagPeer && l >= 8 {
			return ne.Uint32(attrs[4:]), true
		}
		attrs = attrs[min((l+3)&^3, len(attrs)):]
	}
	return 0, false
}

// sleeping reports whether a process or thread is in an interruptible
// sleep (S), the state of a blocked read: the field after the name in
// parentheses, which may itself hold a ')' (as in parseStat).
func (s *inputScan) sleeping(dir string) bool {
	b, err := s.read(dir + "/stat")
	end := bytes.LastIndexByte(b, ')')
	return err == nil && end >= 0 && end+2 < len(b) && b[end+2] == 'S'
}

// comm is the process's name, read once.
func (s *inputScan) comm(pid int) string {
	if c, ok := s.comms[pid]; ok {
		return c
	}
	var c string
	if b, err := s.read("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil {
		c = string(bytes.TrimSuffix(b, []byte("\n")))
	}
	if s.comms == nil {
		s.comms = make(map[int]string)
	}
	s.comms[pid] = c
	return c
}

// commSuffix is " (comm)", or "" when unreadable.
func (s *inputScan) commSuffix(pid int) string {
	if c := s.comm(pid); c != "" {
		return " (" + c + ")"
	}
	return ""
}

// dirNames lists a /proc directory (up to max names; -1: all) with bare
// getdents: os.File's Readdirnames costs more system calls.
func dirNames(dir string, max int) []string {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	var buf [2048]byte
	var names []string
	for max < 0 || len(names) < max {
		n, err := unix.ReadDirent(fd, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], max-len(names), names)
	}
	return names
}

// read reads a small kernel file into s.buf (valid until the next read)
// with one open, read and close; a file longer than the buffer is read
// whole the usual way.
func (s *inputScan) read(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Read(fd, s.buf[:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, err
		case n < len(s.buf):
			return s.buf[:n], nil
		}
		return os.ReadFile(path)
	}
}
