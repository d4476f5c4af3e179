// Package testhome gives a test binary a home of its own, so that nothing
// the tests start writes to the developer's: the registry index under
// ~/.local/state, shims under ~/.local/share, a registry under
// ~/.local/state/watchdog. Only tests import it.
package testhome

import (
	"os"
	"path/filepath"
	"strings"
)

// marker is set once a run is isolated; processes the tests start (the
// binary re-executed as a command) inherit the home instead of making one.
const marker = "WATCHDOG_TEST_HOME"

// Isolate points HOME and XDG_STATE_HOME, XDG_DATA_HOME and XDG_CONFIG_HOME
// at a fresh temporary directory for this process and all it starts,
// unless it runs under an isolated run already or is not the test runner. The Go toolchain's and
// Docker's own settings keep pointing where they did, so builds stay warm
// and the engine is the same. The returned function removes the home.
func Isolate() (cleanup func()) {
	// Only the test runner itself (pkg.test): testscript re-executes the
	// binary under a command's name with the script's own environment.
	if os.Getenv(marker) != "" || !strings.HasSuffix(filepath.Base(os.Args[0]), ".test") {
		return func() {}
	}
	home, err := os.MkdirTemp("", "watchdog-test-home-")
	if err != nil {
		panic("testhome: " + err.Error())
	}
	pin("GOCACHE", func() string { d, _ := os.UserCacheDir(); return join(d, "go-build") })
	pin("GOENV", func() string { d, _ := os.UserConfigDir(); return join(d, "go", "env") })
	pin("GOPATH", func() string { d, _ := os.UserHomeDir(); return join(d, "go") })
	pin("DOCKER_CONFIG", func() string { d, _ := os.UserHomeDir(); return join(d, ".docker") })
	os.Setenv("HOME", home)
	os.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
	os.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	os.Setenv(marker, home)
	return func() { os.RemoveAll(home) }
}

// pin sets key to the value it has by default, computed from the real
// home, unless it is set.
func pin(key string, value func() string) {
	if _, ok := os.LookupEnv(key); ok {
		return
	}
	if v := value(); v != "" {
		os.Setenv(key, v)
	}
}

func join(dir string, elem ...string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(append([]string{dir}, elem...)...)
}
