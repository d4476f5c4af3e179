package supervise

import (
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
