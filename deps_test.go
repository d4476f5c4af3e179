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
	}
}
