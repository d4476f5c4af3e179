package registry

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
)

// IndexPath is the file listing every registry this user has used:
// $XDG_STATE_HOME/watchdog/registries, by default
// ~/.local/state/watchdog/registries. `sweep --all` reads it.
func IndexPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "watchdog", "registries")
}

// Remember adds the registry's absolute path to the index if it is not
// there yet. Lines are appended with O_APPEND, which keeps concurrent
// writers' lines whole; duplicates are harmless and removed on reading.
func Remember(path string) error {
	idx := IndexPath()
	if idx == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	line := []byte(abs + "\n")
	if b, err := os.ReadFile(idx); err == nil {
		if bytes.HasPrefix(b, line) || bytes.Contains(b, append([]byte{'\n'}, line...)) {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(idx), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(idx, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Known returns the registries in the index that still exist, without
// duplicates, in the order they were first used.
func Known() ([]string, error) {
	f, err := os.Open(IndexPath())
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := sc.Text()
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		if _, err := os.Lstat(p); err == nil {
			out = append(out, p)
		}
	}
	return out, sc.Err()
}
