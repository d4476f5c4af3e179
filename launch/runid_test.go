package launch

import (
	"testing"

	"github.com/google/uuid"
)

func TestNewRunIDIsVersion7(t *testing.T) {
	for range 100 {
		s := NewRunID()
		id, err := uuid.Parse(s)
		if err != nil {
			t.Fatalf("NewRunID() = %q: %v", s, err)
		}
		if id.Version() != 7 || id.Variant() != uuid.RFC4122 {
			t.Fatalf("NewRunID() = %q: version %d, variant %v; want version 7, RFC 4122", s, id.Version(), id.Variant())
		}
		if len(s) != 36 || id.String() != s {
			t.Fatalf("NewRunID() = %q, not the canonical text form %q", s, id.String())
		}
	}
}

// google/uuid makes the time and sequence fields of the version 7 ids of
// one process strictly increasing, so ids made in turn are unique and sort
// in the order they were made, however fast they are made.
func TestNewRunIDUniqueAndSortedInSequence(t *testing.T) {
	const n = 1000
	seen := make(map[string]bool, n)
	prev := ""
	for i := range n {
		id := NewRunID()
		if seen[id] {
			t.Fatalf("call %d: NewRunID() = %q again", i, id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("call %d: NewRunID() = %q does not sort after the id made before it, %q", i, id, prev)
		}
		prev = id
	}
}
