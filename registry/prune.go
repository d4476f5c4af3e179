package registry

import (
	"sort"
	"time"
)

// MaxFinished caps the finished tasks a registry keeps when nobody runs
// `watchdog cleanup`. Past it, the oldest finished tasks are dropped down to
// PruneTo, so the cost of pruning is paid once per hundred runs, not on
// every run. Running tasks and entries that do not decode are never dropped.
const (
	MaxFinished = 1000
	PruneTo     = 900
)

// PruneFinished applies the cap and returns how many entries it dropped.
func PruneFinished(r *Registry) int {
	if r.Len() <= MaxFinished {
		return 0
	}
	type fin struct {
		id string
		at time.Time
	}
	var f []fin
	for id := range r.entries {
		t, err := r.Get(id)
		if err != nil || t == nil || !t.Finished() {
			continue
		}
		at := t.Completed()
		if at.IsZero() {
			at = t.Started()
		}
		f = append(f, fin{id, at})
	}
	if len(f) <= MaxFinished {
		return 0
	}
	sort.Slice(f, func(i, j int) bool {
		if !f[i].at.Equal(f[j].at) {
			return f[i].at.Before(f[j].at)
		}
		return f[i].id < f[j].id
	})
	drop := len(f) - PruneTo
	for _, x := range f[:drop] {
		r.Delete(x.id)
	}
	return drop
}
