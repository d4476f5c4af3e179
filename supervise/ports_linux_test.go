package supervise

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// portsHelperEnv switches the test binary into a helper that holds a socket
// (TestListenerHelper): "listen ADDR" or "connect ADDR".
const portsHelperEnv = "WD_PORTS_HELPER"

// TestListenerHelper is not a test: run as a child with portsHelperEnv
// set, it listens on or connects to an address, prints the local port,
// and holds the socket until its stdin closes.
func TestListenerHelper(t *testing.T) {
	mode, addr, ok := strings.Cut(os.Getenv(portsHelperEnv), " ")
	if !ok {
		return
	}
	var local net.Addr
	switch mode {
	case "listen":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		go func() {
			var held []net.Conn
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				held = append(held, c)
			}
		}()
		local = ln.Addr()
	case "connect":
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		defer c.Close()
		local = c.LocalAddr()
	}
	fmt.Println(local.(*net.TCPAddr).Port)
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// startPortsHelper runs TestListenerHelper in a child and returns its pid
// and the local port of its socket. The child ends with the test.
func startPortsHelper(t *testing.T, mode, addr string) (pid, port int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestListenerHelper$")
	cmd.Env = append(os.Environ(), portsHelperEnv+"="+mode+" "+addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if port, err = strconv.Atoi(s); err != nil {
			t.Fatalf("helper %s %s: %q", mode, addr, s)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("helper %s %s did not start", mode, addr)
	}
	return cmd.Process.Pid, port
}

// listenersAt is what Listeners says of one address.
func listenersAt(t *testing.T, addr netip.AddrPort) []Listener {
	t.Helper()
	ls, err := Listeners(int(addr.Port()))
	if err != nil {
		t.Fatal(err)
	}
	var at []Listener
	for _, l := range ls {
		if l.Addr == addr {
			at = append(at, l)
		}
	}
	return at
}

func TestListeners(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			if ln, err := net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
				t.Skipf("no %s here: %v", host, err)
			} else {
				ln.Close()
			}
			pid, port := startPortsHelper(t, "listen", net.JoinHostPort(host, "0"))
			addr := netip.AddrPortFrom(netip.MustParseAddr(host), uint16(port))
			at := listenersAt(t, addr)
			if len(at) != 1 {
				t.Fatalf("Listeners(%d) at %v: %+v, want one", port, addr, at)
			}
			comm := filepath.Base(os.Args[0])
			if len(comm) > 15 {
				comm = comm[:15]
			}
			if l := at[0]; l.PID != pid || l.Comm != comm || l.Inode == 0 {
				t.Errorf("Listeners(%d) = %+v, want pid %d (%s) and an inode", port, l, pid, comm)
			}
			if !ListensOn([]int{os.Getpid(), pid}, port) {
				t.Errorf("ListensOn(the listener, %d) = false", port)
			}
			if ListensOn([]int{os.Getpid()}, port) {
				t.Errorf("ListensOn(another process, %d) = true", port)
			}
			if ListensOn(nil, port) {
				t.Errorf("ListensOn(no process, %d) = true", port)
			}
		})
	}
}

// A connection to a port, at either end, is not a listener on it.
func TestListensOnConnection(t *testing.T) {
	t.Parallel()
	lpid, port := startPortsHelper(t, "listen", "127.0.0.1:0")
	cpid, _ := startPortsHelper(t, "connect", "127.0.0.1:"+strconv.Itoa(port))
	if ListensOn([]int{cpid}, port) {
		t.Errorf("ListensOn(a client of port %d) = true", port)
	}
	if !ListensOn([]int{cpid, lpid}, port) {
		t.Errorf("ListensOn(client and listener, %d) = false", port)
	}

	// The accepted end has the port as its local port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	own := ln.Addr().(*net.TCPAddr).AddrPort()
	if !ListensOn([]int{os.Getpid()}, int(own.Port())) {
		t.Errorf("ListensOn(this process, %d) = false while it listens", own.Port())
	}
	ln.Close()
	if ListensOn([]int{os.Getpid()}, int(own.Port())) {
		t.Errorf("ListensOn(this process, %d) = true with only a connection left", own.Port())
	}
	if at := listenersAt(t, netip.AddrPortFrom(own.Addr().Unmap(), own.Port())); len(at) != 0 {
		t.Errorf("Listeners(%d) = %+v after the listener closed", own.Port(), at)
	}
}

func TestListenerPortRange(t *testing.T) {
	for _, port := range []int{0, -1, 65536} {
		if _, err := Listeners(port); err == nil {
			t.Errorf("Listeners(%d): no error", port)
		}
		if ListensOn([]int{os.Getpid()}, port) {
			t.Errorf("ListensOn(%d) = true", port)
		}
	}
}

// The tables as a little-endian machine's kernel writes them.
func TestListenerTable(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the samples are a little-endian machine's")
	}
	const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	line := func(local, remote, state, inode string) string {
		return fmt.Sprintf("   0: %s %s %s 00000000:00000000 00:00000000 00000000  1000        0 %s 1 0000000000000000 100 0 0 10 0\n", local, remote, state, inode)
	}
	const header6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	const any6 = "00000000000000000000000000000000:0000"
	tests := []struct {
		name  string
		table string
		port  int
		want  []string // addr/inode
	}{
		{"loopback", header + line("0100007F:0BB8", "00000000:0000", "0A", "4242"), 3000, []string{"127.0.0.1:3000/4242"}},
		{"wildcard", header + line("00000000:1F90", "00000000:0000", "0A", "7"), 8080, []string{"0.0.0.0:8080/7"}},
		{"other address", header + line("0101A8C0:0BB8", "00000000:0000", "0A", "9"), 3000, []string{"192.168.1.1:3000/9"}},
		{"other port", header + line("0100007F:0BB9", "00000000:0000", "0A", "1"), 3000, nil},
		{"established, local port", header + line("0100007F:0BB8", "0100007F:D431", "01", "2"), 3000, nil},
		{"established, remote port", header + line("0100007F:D431", "0100007F:0BB8", "01", "3"), 3000, nil},
		{"time-wait", header + line("0100007F:0BB8", "0100007F:D431", "06", "0"), 3000, nil},
		{"several", header + line("0100007F:0BB8", "00000000:0000", "0A", "5") + line("0100007F:0BB8", "0100007F:D431", "01", "6") + line("0200007F:0BB8", "00000000:0000", "0A", "8"), 3000,
			[]string{"127.0.0.1:3000/5", "127.0.0.2:3000/8"}},
		{"ipv6 loopback", header6 + line("00000000000000000000000001000000:0BB8", any6, "0A", "11"), 3000, []string{"[::1]:3000/11"}},
		{"ipv6 wildcard", header6 + line("00000000000000000000000000000000:0BB8", any6, "0A", "12"), 3000, []string{"[::]:3000/12"}},
		{"ipv6 mapped", header6 + line("0000000000000000FFFF00000100007F:0BB8", any6, "0A", "13"), 3000, []string{"[::ffff:127.0.0.1]:3000/13"}},
		{"ipv6 link-local", header6 + line("000080FE000000000000000001000000:FFFF", any6, "0A", "14"), 65535, []string{"[fe80::1]:65535/14"}},
		{"ipv6 words", header6 + line("B80D0120785634120000000001000000:0050", any6, "0A", "15"), 80, []string{"[2001:db8:1234:5678::1]:80/15"}},
		{"header only", header, 3000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, err := parseTCPTable(strings.NewReader(tt.table), tt.port)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range ls {
				got = append(got, fmt.Sprintf("%v/%d", l.Addr, l.Inode))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{
		line("0100007F0BB8", "00000000:0000", "0A", "1"),
		line("0100007F:XBB8", "00000000:0000", "0A", "1"),
		line("100007F:0BB8", "00000000:0000", "0A", "1"),
		line("0100007G:0BB8", "00000000:0000", "0A", "1"),
		line("0100007F:0BB8", "00000000:0000", "0A", "x"),
		"   0: 0100007F:0BB8 00000000:0000 0A\n",
	} {
		if _, err := parseTCPTable(strings.NewReader(header+bad), 3000); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func TestListenerSocketInode(t *testing.T) {
	for link, want := range map[string]uint64{"socket:[123]": 123, "socket:[]": 0, "pipe:[123]": 0, "socket:[12": 0, "/dev/null": 0, "socket:[x]": 0} {
		if got, ok := socketInode([]byte(link)); got != want || ok != (want != 0) {
			t.Errorf("socketInode(%q) = %d, %v", link, got, ok)
		}
	}
}
