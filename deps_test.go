package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The native path must never link the Docker client: its package
// initialisation costs milliseconds on every start. watchdog-docker holds it.
func TestWatchdogBinaryDoesNotLinkDocker(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/docker/") || strings.HasPrefix(pkg, "github.com/watchdog-run/watchdog/launch/container") {
			t.Errorf("the watchdog binary links %s", pkg)
		}
		// Packages whose initialisation every start would pay for
		// (measured with GODEBUG=inittrace=1 when urfave/cli was linked:
		// 0.35 ms of a 3 ms exec).
		switch pkg {
		case "regexp", "text/template", "html", "net/url", "net/netip", "github.com/urfave/cli/v2":
			t.Errorf("the watchdog binary links %s, whose initialisation every start pays for", pkg)
		}
	}
}
