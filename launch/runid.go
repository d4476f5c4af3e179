package launch

import "github.com/google/uuid"

// NewRunID returns a new run id: a version 7 UUID in its usual text form.
// Version 7 starts with the time in milliseconds, so run ids sort by start
// time; ids made by one process sort in the order they were made.
//
// If no random bytes can be read it tries once more, then falls back to a
// version 4 UUID (unique, but not sortable); it never returns an empty id.
func NewRunID() string {
	for range 2 {
		if id, err := uuid.NewV7(); err == nil {
			return id.String()
		}
	}
	id, err := uuid.NewRandom()
	if err != nil {
		panic("watchdog: no random bytes for a run id: " + err.Error())
	}
	return id.String()
}
