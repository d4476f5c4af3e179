package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzRun feeds command lines (NUL-separated arguments) to a test app: no
// input may panic, a mistake is always a usage error, and a command that
// runs gets a suffix of the arguments as its positional ones.
func FuzzRun(f *testing.F) {
	for _, seed := range []string{
		"exec\x00--timeout\x005\x00--\x00sleep\x001",
		"exec\x00-t=5\x00-v\x00-l\x00a=1\x00x",
		"--registry\x00r.json\x00list\x00--json",
		"box\x00-it\x00-u\x00me\x00img",
		"shim\x00install\x00--dir\x00d\x00npm",
		"register\x00id",
		"exec\x00---x",
		"help\x00exec",
		"-v",
		"exec\x00-n\x00x",
		"raw\x00--a\x00-b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		argv := append([]string{"prog"}, strings.Split(line, "\x00")...)
		var out bytes.Buffer
		var got seen
		app := testApp(&out, &got)
		var usage error
		app.OnUsageError = func(_ *Context, err error, _ bool) error { usage = err; return errUsage }
		err := app.Run(argv)
		if err != nil && !errors.Is(err, errUsage) {
			t.Fatalf("%q: error %v is not a usage error", argv, err)
		}
		if err != nil && (usage == nil || got.cmd != "") {
			t.Fatalf("%q: usage error %v, yet ran %q", argv, usage, got.cmd)
		}
		if got.cmd != "" {
			rest := argv[len(argv)-len(got.args):]
			for i := range rest {
				if rest[i] != got.args[i] {
					t.Fatalf("%q: positional %q are not the tail of the command line", argv, got.args)
				}
			}
		}
	})
}

var errUsage = errors.New("usage")
