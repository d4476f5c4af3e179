package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromInfo(t *testing.T) {
	for _, c := range []struct {
		info debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}}, "0123456789ab"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, "0123456789ab-dirty"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	} {
		if got := FromInfo(&c.info); got != c.want {
			t.Errorf("FromInfo(%+v) = %q, want %q", c.info, got, c.want)
		}
	}
	if got := Of("v9.9.9"); got != "v9.9.9" {
		t.Errorf("a linked-in version wins: got %q", got)
	}
}

// A plain `go build` in this git checkout names the commit it was built
// from, both binaries alike.
func TestPlainBuildNamesTheCommit(t *testing.T) {
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("this test needs the git checkout: %v", err)
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, pkg := range []string{".", "./cmd/watchdog-docker"} {
		bin := filepath.Join(dir, filepath.Base(pkg)+".bin")
		build := exec.Command("go", "build", "-buildvcs=true", "-tags=urfave_cli_no_docs", "-o", bin, pkg)
		build.Dir = strings.TrimSpace(string(root))
		build.Env = append(os.Environ(), "GOFLAGS=")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		out, _ := exec.Command(bin, "--version").CombinedOutput()
		if !strings.Contains(string(out), strings.TrimSpace(string(head))[:12]) {
			t.Errorf("%s --version = %q, want the commit %.12s", pkg, out, head)
		}
	}
}

// `make install` puts both binaries side by side under PREFIX, named by
// `git describe`, as the release build names them.
func TestMakeInstall(t *testing.T) {
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("this test needs the git checkout: %v", err)
	}
	describe, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		t.Fatal(err)
	}
	dest, build := t.TempDir(), t.TempDir()
	install := exec.Command("make", "install", "DESTDIR="+dest, "PREFIX=/opt/wd", "BIN="+filepath.Join(build, "watchdog"))
	install.Dir = strings.TrimSpace(string(root))
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for _, name := range []string{"watchdog", "watchdog-docker"} {
		bin := filepath.Join(dest, "opt/wd/bin", name)
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), strings.TrimSpace(string(describe))) {
			t.Errorf("%s --version: %q (%v), want %s", bin, out, err, describe)
		}
	}
}
