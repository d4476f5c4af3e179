package registry

import (
	"os"
	"path/filepath"
	"syscall"
)

// EnvPath is the environment variable that names the registry when no
// --registry is given.
const EnvPath = "WATCHDOG_REGISTRY"

// ProjectDir is the directory that marks a project's registry: the earlier
// tool's place, DefaultPath's directory.
const ProjectDir = ".claude"

// Path is the one rule for which registry every entry point uses (exec,
// docker-run, the `timeout` drop-in, PATH shims and every reading command):
//
//  1. explicit (a --registry value), if given;
//  2. else $WATCHDOG_REGISTRY, if not empty;
//  3. else the project's: DefaultPath in the nearest .claude/ directory
//     that this user owns, looking in the working directory and then in
//     each parent, as git finds .git, stopping before $HOME and at the
//     filesystem root. Another user's .claude/ is passed over, as git
//     passes over a repository another user owns: a /tmp/.claude made by
//     anyone must neither receive this user's records nor make every
//     exec below /tmp fail;
//  4. else the user's, UserPath.
//
// It never creates .claude/: a directory without one records in the
// user's registry. $HOME itself is not a project: ~/.claude is Claude
// Code's own settings directory. The path is absolute, so a message or a
// --json answer names the file wherever it is read from; "" only when
// neither the working directory nor a home or state directory is known.
func Path(explicit string) string {
	if explicit != "" {
		return absPath(explicit)
	}
	if v := os.Getenv(EnvPath); v != "" {
		return absPath(v)
	}
	if p := projectPath(); p != "" {
		return p
	}
	return UserPath()
}

// projectPath is DefaultPath under the nearest directory at or above the
// working directory that holds a .claude directory, below $HOME; "" if none.
func projectPath() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	var home os.FileInfo // compared as a file: $HOME and the working directory may be spelled through different symlinks
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		home, _ = os.Stat(h)
	}
	for {
		if fi, err := os.Stat(dir); err == nil && home != nil && os.SameFile(fi, home) {
			return ""
		}
		if ownDir(filepath.Join(dir, ProjectDir)) {
			return filepath.Join(dir, DefaultPath)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// ownDir reports whether path is a directory owned by this user, or a
// symlink this user owns to one: another user's link (in /tmp, say) must
// not choose which of this user's directories receives the records.
func ownDir(path string) bool {
	link, err := os.Lstat(path)
	if err != nil || !ownedByMe(link) {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir() && ownedByMe(fi)
}

func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// UserPath is the user's own registry, beside the registry index:
// $XDG_STATE_HOME/watchdog/process_registry.json, by default
// ~/.local/state/watchdog/process_registry.json; "" when neither is known.
func UserPath() string {
	dir := stateDir()
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "process_registry.json")
}

// stateDir is the watchdog's directory of per-user state: the user's
// registry and the index of registries.
func stateDir() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		// The XDG spec: a relative value is invalid and is ignored.
		home, err := os.UserHomeDir()
		if err != nil || !filepath.IsAbs(home) {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "watchdog")
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
