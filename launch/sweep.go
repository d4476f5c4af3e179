package launch

import (
	"fmt"
	"os"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// SweepOptions says what a sweep may do.
type SweepOptions struct {
	DryRun bool          // say what would be done; signal and write nothing
	All    bool          // every registry this user has used, not only the current one
	Grace  time.Duration // between TERM and KILL
	// Containers sweeps the watchdog's containers; launch links no Docker,
	// so the caller supplies it. Nil leaves containers alone.
	Containers ContainerSweeper
}

// SweepEvent is one thing sweep did (or would do). Its JSON form is part of
// the documented `sweep --json` schema.
type SweepEvent struct {
	Registry  string   `json:"registry,omitempty"`
	ID        string   `json:"id,omitempty"`
	RunID     string   `json:"run_id,omitempty"`
	Action    string   `json:"action"` // orphaned, overdue, lost, untracked
	Status    string   `json:"status,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Detail    string   `json:"detail"`
	Signalled []int    `json:"signalled,omitempty"`
	Killed    []int    `json:"killed,omitempty"`
	Stuck     []int    `json:"stuck,omitempty"`
	Zombies   []string `json:"zombies,omitempty"`
	DryRun    bool     `json:"dry_run,omitempty"`
	// Scope says how the processes were found, so nobody reads "ended"
	// as "ended everything": see the README on what a run tag cannot see.
	Scope string `json:"scope,omitempty"`
	Error string `json:"error,omitempty"`

	task     *registry.Task
	tree     *supervise.Tree
	recorded bool // the locked update wrote Status and Reason
}

// WouldEnd counts, now, the live processes of the tree the event ends;
// false when it ends none.
func (ev SweepEvent) WouldEnd() (int, bool) {
	if ev.tree == nil {
		return 0, false
	}
	live, _, _ := ev.tree.Members()
	return len(live), true
}

// SweepReport is what one sweep did.
type SweepReport struct {
	Time       string       `json:"time"`
	Registries []string     `json:"registries"`
	Actions    []SweepEvent `json:"actions"`
	Warnings   []string     `json:"warnings,omitempty"`
	Errors     []string     `json:"errors,omitempty"`
}

// EndedSome reports whether the sweep signalled a process tree.
func (rep SweepReport) EndedSome() bool {
	for _, ev := range rep.Actions {
		if ev.Scope != "" && len(ev.Signalled) > 0 && !ev.DryRun {
			return true
		}
	}
	return false
}

// Sweep sweeps the registry at current (with o.All, every registry this
// user has used) and reports what it did.
func Sweep(current string, o SweepOptions) SweepReport {
	rep := SweepReport{Time: registry.FormatTime(time.Now()), Actions: []SweepEvent{}}
	paths := []string{}
	if _, err := os.Lstat(current); err == nil {
		paths = append(paths, current)
	}
	known, indexErr := registry.Known()
	if o.All {
		if indexErr != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("read the registry index %s: %v", registry.IndexPath(), indexErr))
		}
		for _, p := range known {
			if !samePath(p, current) {
				paths = append(paths, p)
			}
		}
	}
	rep.Registries = paths

	c := takeCensus(append(append([]string{}, paths...), known...))
	c.complete = c.complete && indexErr == nil
	containers := sweepContainers(o, &rep, c.needDocker)
	for _, p := range paths {
		evs, err := sweepRegistry(p, o, containers, &rep)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
		rep.Actions = append(rep.Actions, evs...)
	}
	if c.complete {
		rep.Actions = append(rep.Actions, sweepUntracked(c, o, &rep)...)
	}
	for _, ev := range rep.Actions {
		if ev.Error != "" {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s %s: %s", ev.Registry, ev.ID, ev.Error))
		}
	}
	return rep
}

func samePath(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// census is what every registry this user has used knows, read without
// writing anything: a corrupt registry is left as it is (and makes the
// census incomplete), whatever the sweep was asked to do.
type census struct {
	paths      []string
	runs       map[string]bool // run ids in a registry or its history
	complete   bool            // every registry could be read
	needDocker bool            // some registry holds a running docker task
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
	c.needDocker = c.needDocker || os.Getenv("DOCKER_HOST") != ""
	return c
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
