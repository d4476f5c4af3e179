package registry

import (
	"os"
	"path/filepath"
)

// EnvPath is the environment variable that names the registry when no
// --registry is given.
const EnvPath = "WATCHDOG_REGISTRY"

// Path is the one rule for which registry a command uses: explicit (a
// --registry value) if given, else $WATCHDOG_REGISTRY, else DefaultPath.
func Path(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if v := os.Getenv(EnvPath); v != "" {
		return v
	}
	return DefaultPath
}

// DropInPath is the registry of runs started by name (the `timeout`
// drop-in, PATH shims): $WATCHDOG_REGISTRY; else the project's DefaultPath
// when its .claude/ directory exists here; else the user's own beside the
// registry index, so a drop-in never leaves .claude/ directories wherever
// scripts call it. "" when there is none.
func DropInPath() string {
	if v := os.Getenv(EnvPath); v != "" {
		return v
	}
	if fi, err := os.Stat(filepath.Dir(DefaultPath)); err == nil && fi.IsDir() {
		return DefaultPath
	}
	if idx := IndexPath(); idx != "" {
		return filepath.Join(filepath.Dir(idx), "process_registry.json")
	}
	return ""
}
