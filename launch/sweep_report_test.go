package launch

import (
	"strings"
	"testing"
)

// What sweep prints comes from Escaped: no control character of a
// container name, an id or a path survives it; the report itself (the
// JSON one) keeps the values as they are.
func TestSweepReportEscaped(t *testing.T) {
	rep := SweepReport{
		Registries: []string{"/tmp/r\n.json"},
		Actions: []SweepEvent{{ID: "t1", RunID: "run\x1b", Action: "lost", Status: "failed", Reason: "lost",
			Detail: "supervisor is gone and container c\x1b[2J no longer runs", Zombies: []string{"pid 9\r"}, Error: "e\t"}},
		Warnings: []string{"removed /tmp/\x07x"},
		Errors:   []string{"read \x1b]0;t\x07"},
	}
	got := rep.Escaped()
	for _, s := range []string{got.Registries[0], got.Actions[0].RunID, got.Actions[0].Detail, got.Actions[0].Zombies[0],
		got.Actions[0].Error, got.Warnings[0], got.Errors[0]} {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Errorf("control character left in %q", s)
		}
	}
	if d := got.Actions[0].Detail; d != `supervisor is gone and container c\033[2J no longer runs` {
		t.Errorf("detail %s", d)
	}
	if rep.Actions[0].Detail != "supervisor is gone and container c\x1b[2J no longer runs" || rep.Errors[0] != "read \x1b]0;t\x07" {
		t.Errorf("the report itself was changed: %+v", rep)
	}
	if (SweepReport{}).Escaped().Actions != nil {
		t.Errorf("no actions became an empty list (JSON would differ)")
	}
}
