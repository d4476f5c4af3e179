package launch

import (
	"github.com/google/uuid"
	"github.com/watchdog-run/watchdog/internal/random"
)

// kernelRandom is the kernel's random source read directly (getrandom):
// crypto/rand's reader, uuid's default, costs about 30 µs more on its
// first use, which is the only use in a run.
type kernelRandom struct{}

func (kernelRandom) Read(b []byte) (int, error) { random.Bytes(b); return len(b), nil }

// NewRunID returns a new run id: a version 7 UUID in its usual text form.
// Version 7 starts with the time in milliseconds, so run ids sort by start
// time; ids made by one process sort in the order they were made.
//
// random.Bytes panics when the kernel has no random bytes to give, as
// crypto/rand does; it never returns an empty id.
func NewRunID() string {
	id, err := uuid.NewV7FromReader(kernelRandom{})
	if err != nil {
		panic("watchdog: no random bytes for a run id: " + err.Error())
	}
	return id.String()
}
