package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// requireMountNS skips where a private mount namespace with tmpfs cannot be
// made (not root), except in CI, where the test must run.
func requireMountNS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	err := exec.Command("unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs "+dir).Run()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must run this test: unshare -m + tmpfs: %v", err)
	}
	t.Skipf("cannot mount a tmpfs in a private mount namespace (%v); run as root", err)
}

// Disk trouble: a full disk and a read-only registry directory give a
// clear error, exit 125 before anything runs, and leave the previous
// registry byte-for-byte intact. Each runs on a small tmpfs in a private
// mount namespace, so nothing leaks onto the machine.
func TestDiskTrouble(t *testing.T) {
	requireMountNS(t)
	wd, err := exec.LookPath("watchdog")
	if err != nil {
		t.Fatal(err)
	}
	child, _ := exec.LookPath("wd-child")
	cases := []struct {
		name, setup, want string
	}{
		{"disk full", `dd if=/dev/zero of="$D/filler" bs=4k 2>/dev/null || true`, "no space left on device"},
		{"read-only", `mount -o remount,ro "$D"`, "read-only file system"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, o := t.TempDir(), t.TempDir()
			script := `
set -e
mount -t tmpfs -o size=256k,mode=0700 tmpfs "$D"
mkdir -m 0700 "$D/reg"
"$WD" --registry "$D/reg/r.json" exec --id before -- true
cp "$D/reg/r.json" "$O/orig.json"
` + c.setup + `
set +e
"$WD" --registry "$D/reg/r.json" exec --id after -- "$CHILD" -pidfile "$O/child.pid" 2>"$O/stderr"
echo "exit $?"
cat "$O/stderr"
cmp "$D/reg/r.json" "$O/orig.json" && echo "registry intact"
[ -e "$O/child.pid" ] && kill -0 "$(cut -d' ' -f1 "$O/child.pid")" 2>/dev/null && echo "child alive"
echo "LS:"; ls -a "$D/reg"
true
`
			cmd := exec.Command("unshare", "-m", "sh", "-c", script)
			cmd.Env = append(os.Environ(), "D="+d, "O="+o, "WD="+wd, "CHILD="+child)
			out, err := cmd.CombinedOutput()
			text := string(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if !strings.Contains(text, "exit 125") || !strings.Contains(text, c.want) || !strings.Contains(text, "hint: the registry was left as it was") {
				t.Errorf("want exit 125 and %q:\n%s", c.want, text)
			}
			if !strings.Contains(text, "registry intact") {
				t.Errorf("previous registry changed:\n%s", text)
			}
			if strings.Contains(text, "child alive") {
				t.Errorf("the command runs on although its start could not be recorded:\n%s", text)
			}
			if _, ls, _ := strings.Cut(text, "LS:"); strings.Contains(ls, ".tmp-") {
				t.Errorf("temporary file left behind:\n%s", text)
			}
		})
	}
}
