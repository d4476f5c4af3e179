package launch

import "github.com/watchdog-run/watchdog/supervise"

// SweepReport is what one sweep did.
type SweepReport struct {
	Time       string       `json:"time"`
	Registries []string     `json:"registries"`
	Actions    []SweepEvent `json:"actions"`
	Warnings   []string     `json:"warnings,omitempty"`
	Errors     []string     `json:"errors,omitempty"`
}

// SweepEvent is one thing sweep did (or would do). Its JSON form is part of
// the documented `sweep --json` schema.
type SweepEvent struct {
	Registry  string   `json:"registry,omitempty"`
	ID        string   `json:"id,omitempty"`
	RunID     string   `json:"run_id,omitempty"`
	Action    string   `json:"action"` // orphaned, overdue, lost, untracked, container-…
	Status    string   `json:"status,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Detail    string   `json:"detail"`
	Signalled []int    `json:"signalled,omitempty"`
	Killed    []int    `json:"killed,omitempty"`
	Stuck     []int    `json:"stuck,omitempty"`
	Zombies   []string `json:"zombies,omitempty"`
	DryRun    bool     `json:"dry_run,omitempty"`
	// Scope says how the processes were found, so nobody reads "ended"
	// as "ended everything": "tree" (group, descent and run tag; see the
	// README on what a run tag cannot see) or "cgroup" (the task's own
	// cgroup: every process, exactly).
	Scope string `json:"scope,omitempty"`
	Error string `json:"error,omitempty"`

	tree     *supervise.Tree // what the plan ends; nil: it only closes the record
	recorded bool            // the locked update wrote Status and Reason
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

// EndedSome reports whether the sweep signalled a process tree it found by
// group and run tag (not by a cgroup, which holds every process).
func (rep SweepReport) EndedSome() bool {
	for _, ev := range rep.Actions {
		if ev.Scope == "tree" && len(ev.Signalled) > 0 && !ev.DryRun {
			return true
		}
	}
	return false
}

// Escaped is the report as human output shows it: every string that can
// hold a value from a registry or the system (ids, details with container
// names and paths, warnings, errors) passed through supervise.Escape, so a
// control character in one cannot reach the terminal. The JSON report is
// the unescaped one; rep is not changed.
func (rep SweepReport) Escaped() SweepReport {
	e := supervise.Escape
	all := func(ss []string) []string {
		if ss == nil {
			return nil
		}
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = e(s)
		}
		return out
	}
	out := rep
	out.Registries, out.Warnings, out.Errors = all(rep.Registries), all(rep.Warnings), all(rep.Errors)
	out.Actions = make([]SweepEvent, len(rep.Actions))
	for i, ev := range rep.Actions {
		ev.Registry, ev.ID, ev.RunID, ev.Action = e(ev.Registry), e(ev.ID), e(ev.RunID), e(ev.Action)
		ev.Status, ev.Reason, ev.Detail = e(ev.Status), e(ev.Reason), e(ev.Detail)
		ev.Scope, ev.Error, ev.Zombies = e(ev.Scope), e(ev.Error), all(ev.Zombies)
		out.Actions[i] = ev
	}
	if rep.Actions == nil {
		out.Actions = nil
	}
	return out
}

func (rep *SweepReport) warn(msg string) { rep.Warnings = append(rep.Warnings, msg) }

// reported keeps what sweep did: events whose record it wrote, or whose
// processes it signalled. An event whose record someone else closed first
// keeps its signals but not the claim to have marked it.
func reported(evs []SweepEvent) []SweepEvent {
	out := evs[:0]
	for _, ev := range evs {
		if !ev.recorded {
			ev.Status, ev.Reason = "", ""
			if len(ev.Signalled) == 0 && len(ev.Killed) == 0 && ev.Error == "" {
				continue
			}
			ev.Detail += "; its record was closed by someone else meanwhile"
		}
		out = append(out, ev)
	}
	return out
}
