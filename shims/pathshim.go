package shims

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/watchdog-run/watchdog/supervise"
)

// ConfigName is the file in a shim directory that marks it as one and
// holds each shim's settings.
const ConfigName = ".watchdog-shims.json"

// Config is a shim directory's configuration.
type Config struct {
	Shims map[string]ShimConfig `json:"shims"`
}

// ShimConfig is one shim's settings: the exec options its command runs
// with, as given to shim install. A directory written before a setting
// existed reads as without it.
type ShimConfig struct {
	Timeout string `json:"timeout,omitempty"` // default deadline; empty: none
	// IdleTimeout ends the command after this long without output
	// (exec --idle-timeout); empty: never.
	IdleTimeout string `json:"idle_timeout,omitempty"`
	// Log keeps each run's output in its log beside the registry (exec
	// --log).
	Log bool `json:"log,omitempty"`
}

// DefaultDir is $XDG_DATA_HOME/watchdog/shims (~/.local/share/watchdog/shims).
func DefaultDir() string {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "watchdog", "shims")
}

// IsShimDir reports whether dir holds watchdog shims.
func IsShimDir(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, ConfigName))
	return err == nil
}

// ReadConfig reads a shim directory's configuration (empty if none).
func ReadConfig(dir string) (*Config, error) {
	c := &Config{Shims: map[string]ShimConfig{}}
	b, err := os.ReadFile(filepath.Join(dir, ConfigName))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigName), err)
	}
	if c.Shims == nil {
		c.Shims = map[string]ShimConfig{}
	}
	return c, nil
}

// WriteConfig replaces a shim directory's configuration atomically.
func WriteConfig(dir string, c *Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".watchdog-shims-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, ConfigName))
}

// ValidName checks a command name a shim can stand for.
func ValidName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("invalid command name %s", supervise.Quote(name))
	case strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, "."):
		return fmt.Errorf("invalid command name %s: a bare command name is needed, not a path or a hidden name", supervise.Quote(name))
	case name == "watchdog" || strings.HasPrefix(name, "watchdog-"):
		return fmt.Errorf("%s is the watchdog itself", supervise.Quote(name))
	}
	return nil
}

// Install puts a shim for each name in dir, a symlink to self, with the
// settings sc (a shim installed again takes the new ones). An existing
// file that is not a shim is never replaced.
func Install(dir, self string, names []string, sc ShimConfig) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c, err := ReadConfig(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := ValidName(n); err != nil {
			return err
		}
		p := filepath.Join(dir, n)
		if _, err := os.Lstat(p); err == nil {
			if !isShim(p, self) {
				return fmt.Errorf("%s exists and is not a watchdog shim; not replacing it", p)
			}
			if err := os.Remove(p); err != nil {
				return err
			}
		}
		if err := os.Symlink(self, p); err != nil {
			return err
		}
		c.Shims[n] = sc
	}
	return WriteConfig(dir, c)
}

// isShim reports whether p is a symlink to the running binary (or to any
// file named like a watchdog binary: an older install).
func isShim(p, self string) bool {
	target, err := os.Readlink(p)
	if err != nil {
		return false
	}
	return sameFile(p, self) || strings.HasPrefix(filepath.Base(target), "watchdog")
}

// Remove takes the named shims out of dir.
func Remove(dir, self string, names []string) error {
	c, err := ReadConfig(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := ValidName(n); err != nil {
			return err
		}
		p := filepath.Join(dir, n)
		if _, err := os.Lstat(p); err != nil {
			return fmt.Errorf("no shim %s in %s", n, dir)
		}
		if !isShim(p, self) {
			return fmt.Errorf("%s is not a watchdog shim; not removing it", p)
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		delete(c.Shims, n)
	}
	return WriteConfig(dir, c)
}

// Entry is one installed shim.
type Entry struct {
	Name        string `json:"name"`
	Timeout     string `json:"timeout,omitempty"`
	IdleTimeout string `json:"idle_timeout,omitempty"`
	Log         bool   `json:"log,omitempty"`
	Real        string `json:"real,omitempty"` // the command it runs, as PATH finds it now
}

// List returns the shims installed in dir.
func List(dir, self string) ([]Entry, error) {
	c, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for n, sc := range c.Shims {
		real, _ := FindReal(n, self)
		out = append(out, Entry{Name: n, Timeout: sc.Timeout, IdleTimeout: sc.IdleTimeout, Log: sc.Log, Real: real})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Locate finds the shim that was invoked as name: argv0 itself when it has a
// slash, else the first PATH entry holding name. It returns the shim's
// directory, or "" when the invocation is not through a shim.
func Locate(argv0 string) string {
	p := argv0
	if !strings.Contains(argv0, "/") {
		p = ""
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			if dir == "" {
				dir = "."
			}
			if _, err := os.Lstat(filepath.Join(dir, argv0)); err == nil {
				p = filepath.Join(dir, argv0)
				break
			}
		}
	}
	if p == "" {
		return ""
	}
	dir := filepath.Dir(p)
	if !IsShimDir(dir) {
		return ""
	}
	return dir
}

// FindReal finds the real command for a shim: the first executable named
// name on PATH that is not a shim — not the watchdog binary itself (a shim
// directory listed twice) and not in any shim directory (several shim
// directories). It returns "" and an error when only shims exist.
func FindReal(name, self string) (string, error) {
	var shimsSeen []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		if IsShimDir(dir) || sameFile(p, self) {
			shimsSeen = append(shimsSeen, p)
			continue
		}
		return p, nil
	}
	if len(shimsSeen) > 0 {
		return "", fmt.Errorf("%s: command not found beyond the watchdog shims on PATH (%s)", name, strings.Join(shimsSeen, ", "))
	}
	return "", fmt.Errorf("%s: command not found", name)
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
