package registry

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPathRule checks the order of the one registry rule: explicit, the
// environment, the nearest .claude/ below $HOME, the user's.
func TestPathRule(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	for _, d := range []string{"proj/.claude", "proj/a/b", "home/.claude", "home/x", "home/p/.claude", "home/p/q"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_STATE_HOME", filepath.Join(root, "state"))
	t.Setenv(EnvPath, "")
	user := filepath.Join(root, "state", "watchdog", "process_registry.json")
	cases := []struct{ cwd, explicit, env, want string }{
		{"proj/a/b", "", "", filepath.Join(root, "proj", DefaultPath)},
		{"proj", "", "", filepath.Join(root, "proj", DefaultPath)},
		{"home/x", "", "", user}, // ~/.claude is not a project
		{"home", "", "", user},   // nor is $HOME itself
		{"home/p/q", "", "", filepath.Join(root, "home/p", DefaultPath)},
		{"proj/a", "", "e.json", filepath.Join(root, "proj/a/e.json")},
		{"proj/a", "x.json", "e.json", filepath.Join(root, "proj/a/x.json")},
		{"", "", "", user}, // root: no .claude above it
	}
	for _, c := range cases {
		t.Chdir(filepath.Join(root, c.cwd))
		t.Setenv(EnvPath, c.env)
		if got := Path(c.explicit); got != c.want {
			t.Errorf("in %s, Path(%q) with %s=%q = %s, want %s", c.cwd, c.explicit, EnvPath, c.env, got, c.want)
		}
	}

	// $HOME spelled through a symlink is still $HOME: its .claude is not
	// a project's.
	link := filepath.Join(root, "homelink")
	if err := os.Symlink(home, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", link)
	t.Setenv(EnvPath, "")
	t.Chdir(filepath.Join(home, "x"))
	if got := Path(""); got != user {
		t.Errorf("in ~/x with HOME a symlink to it, Path = %s, want %s", got, user)
	}
	t.Setenv("HOME", home)

	// A relative XDG_STATE_HOME is invalid (XDG spec): ~/.local/state.
	t.Setenv("XDG_STATE_HOME", "rel")
	if got, want := UserPath(), filepath.Join(home, ".local/state/watchdog/process_registry.json"); got != want {
		t.Errorf("UserPath with a relative XDG_STATE_HOME = %s, want %s", got, want)
	}
}
