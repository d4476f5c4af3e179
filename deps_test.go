package main

import (
	"os/exec"
	"strings"
	"testing"
)

// What the watchdog binary links decides what every start of `watchdog
// exec` pays for. The Docker client (milliseconds of package
// initialisation) lives in watchdog-docker; gopsutil is for macOS only
// (Linux reads /proc itself); urfave/cli's documentation generators are
// left out by the urfave_cli_no_docs build tag.
func TestWatchdogBinaryLinks(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "urfave_cli_no_docs", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	linked := map[string]bool{}
	for _, pkg := range strings.Fields(string(out)) {
		linked[pkg] = true
		for _, banned := range []string{"github.com/docker/", "github.com/watchdog-run/watchdog/launch/container", "github.com/shirou/gopsutil", "github.com/cpuguy83/go-md2man"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("the watchdog binary links %s", pkg)
			}
		}
	}
	// The libraries the design names for this binary.
	for _, want := range []string{"github.com/urfave/cli/v2", "github.com/google/uuid", "golang.org/x/sys/unix"} {
		if !linked[want] {
			t.Errorf("the watchdog binary does not link %s", want)
		}
	}
}
