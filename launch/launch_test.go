package launch

import (
	"strings"
	"testing"
)

func TestDisplayCommand(t *testing.T) {
	cases := []struct {
		argv []string
		want string
	}{
		{[]string{"make", "test"}, "make test"},
		{[]string{"sh", "-c", "echo $X; exit"}, `sh -c 'echo $X; exit'`},
		{[]string{"echo", "it's", ""}, `echo 'it'\''s' ''`},
	}
	for _, c := range cases {
		if got := DisplayCommand(c.argv); got != c.want {
			t.Errorf("DisplayCommand(%q) = %s, want %s", c.argv, got, c.want)
		}
	}
}

func TestNewRunID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewRunID()
		if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("not a version 4 UUID: %q", id)
		}
		if seen[id] {
			t.Fatalf("repeated run id %q", id)
		}
		seen[id] = true
	}
}
