package launch

import (
	"os"

	"github.com/watchdog-run/watchdog/supervise"

	"github.com/watchdog-run/watchdog/registry"
)

// census is what every registry this user has used knows, read without
// writing anything: a corrupt registry is left as it is (and makes the
// census incomplete), whatever the sweep was asked to do.
type census struct {
	paths      []string
	runs       map[string]bool // run ids in a registry or its history
	complete   bool            // every registry could be read
	needDocker bool            // a missing engine deserves a warning
}

func takeCensus(paths []string) *census {
	c := &census{runs: map[string]bool{}, complete: true}
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		c.paths = append(c.paths, p)
		r, err := readRegistry(p)
		if err != nil {
			c.complete = false
			continue
		}
		c.count(r)
	}
	c.needDocker = c.needDocker || os.Getenv("DOCKER_HOST") != ""
	return c
}

// count adds a registry's runs, and notes a running docker task. Only
// that one task is decoded: the runs come from a peek at each entry.
func (c *census) count(r *registry.Registry) {
	for _, id := range r.IDs() {
		st, run, ok := r.Peek(id)
		if ok && run != "" {
			c.runs[run] = true
		}
		if ok && st == registry.StatusRunning && !c.needDocker {
			t, err := r.Get(id)
			c.needDocker = err == nil && t != nil && t.Mode == registry.ModeDocker
		}
	}
}

// knowsNow reads the registries again and reports whether any of them
// records the run now. Called once a run's supervisor is seen dead, it is
// the final word: a dead supervisor writes nothing more.
func (c *census) knowsNow(run string) bool {
	for _, p := range c.paths {
		r, err := readRegistry(p)
		if err != nil {
			return true // cannot tell: the run may be there
		}
		for _, id := range r.IDs() {
			if _, got, ok := r.Peek(id); ok && got == run {
				return true
			}
		}
	}
	return false
}

// readRegistry reads a registry and its history without writing anything.
func readRegistry(path string) (*registry.Registry, error) {
	s, err := registry.OpenForReading(path)
	if err != nil {
		return nil, err
	}
	return s.ReadWithHistory()
}

// knowsKey reports whether a registry records, or records now, the run
// whose key (supervise.RunKey) names a cgroup.
func (c *census) knowsKey(key string) bool {
	for run := range c.runs {
		if supervise.RunKey(run) == key {
			return true
		}
	}
	for _, p := range c.paths {
		r, err := readRegistry(p)
		if err != nil {
			return true // cannot tell: the run may be there
		}
		for _, id := range r.IDs() {
			if _, run, ok := r.Peek(id); ok && run != "" && supervise.RunKey(run) == key {
				return true
			}
		}
	}
	return false
}
