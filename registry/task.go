package registry

import (
	"bytes"
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// Task statuses. The first four are the earlier tool's; nothing else is
// written.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Reasons recorded beside a final status.
const (
	ReasonExited   = "exited"   // the command exited on its own
	ReasonSignaled = "signaled" // the command was killed by a signal outside a timeout
	ReasonTimeout  = "timeout"  // the deadline passed
	ReasonKilled   = "killed"   // ended by `watchdog kill`
	ReasonOrphaned = "orphaned" // its supervisor died; sweep ended it
	ReasonLost     = "lost"     // its processes vanished without a supervisor to record why
	ReasonOOM      = "oom"      // it failed after the kernel's OOM killer ended processes under its --memory
	ReasonIdle     = "idle"     // no output for --idle-timeout
	// ReasonCallerExited: the process it was tied to (--tie) exited.
	ReasonCallerExited = "caller-exited"
	// ReasonNotReady: a detached task that did not become ready in time.
	ReasonNotReady = "not-ready"
	ReasonStartErr = "start-failed"
)

// Modes.
const (
	ModeNative = "native"
	ModeDocker = "docker"
)

// Task is one registry entry. Fields up to ConstitutionRules are the
// earlier Rust tool's; the rest are ours. Fields present in the file but
// unknown here are kept in extra and written back unchanged.
type Task struct {
	Mode              string   `json:"mode"`
	Command           string   `json:"command"`
	Status            string   `json:"status"`
	StartedAt         string   `json:"started_at"`
	CompletedAt       string   `json:"completed_at,omitempty"`
	Native            *Native  `json:"native,omitempty"`
	Docker            *Docker  `json:"docker,omitempty"`
	ConstitutionRules []string `json:"constitution_rules"`

	ExitCode       *int              `json:"exit_code,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	Signal         string            `json:"signal,omitempty"`   // name of the signal that ended the command
	Deadline       string            `json:"deadline,omitempty"` // RFC 3339, empty when there is none
	TimeoutSeconds float64           `json:"timeout_seconds,omitempty"`
	KillAfter      float64           `json:"kill_after_seconds,omitempty"`
	Swept          string            `json:"swept_at,omitempty"` // when sweep ended or closed the task
	RunID          string            `json:"run_id,omitempty"`
	Argv           []string          `json:"argv,omitempty"`
	Cwd            string            `json:"cwd,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Supervisor     *Proc             `json:"supervisor,omitempty"`
	Error          string            `json:"error,omitempty"`
	// KeepDescendants: what the command leaves behind is kept on purpose
	// (--keep-descendants, the timeout drop-in); no sweep ends it.
	KeepDescendants bool `json:"keep_descendants,omitempty"`
	// What the whole task used, from its cgroup, recorded at its end:
	// processes the OOM killer ended under its --memory, its peak memory
	// (where a memory controller counted it) and its CPU time.
	OOMKills        int     `json:"oom_kills,omitempty"`
	PeakMemoryBytes int64   `json:"peak_memory_bytes,omitempty"`
	CPUSeconds      float64 `json:"cpu_seconds,omitempty"`
	// Log is the file the command's output was kept in (--log), absolute.
	Log string `json:"log,omitempty"`
	// IdleTimeout is --idle-timeout: the task ends after this long
	// without output (reason idle).
	IdleTimeout float64 `json:"idle_timeout_seconds,omitempty"`
	// A detached task's readiness (--ready-*): when it was ready, how
	// long after its start, and the port it serves (--ready-port).
	ReadyAt      string  `json:"ready_at,omitempty"`
	ReadySeconds float64 `json:"ready_seconds,omitempty"`
	Port         int     `json:"port,omitempty"`
	// TiedTo is the process whose exit ends the task (--tie).
	TiedTo *Proc `json:"tied_to,omitempty"`

	extra map[string]json.RawMessage
}

// Native identifies the process tree of a native task.
type Native struct {
	PID  int `json:"pid"`
	PGID int `json:"pgid"`
	// StartTime is the start in `ps -o lstart` form, kept for the earlier
	// tool's readers. It has one-second precision; StartTicks is the precise one.
	StartTime  string `json:"start_time"`
	EnvTag     string `json:"env_tag"`
	StartTicks uint64 `json:"start_ticks,omitempty"` // clock ticks after boot (/proc/PID/stat field 22)
	BootID     string `json:"boot_id,omitempty"`
	RunTag     string `json:"run_tag,omitempty"` // NAME=VALUE present in every process of the tree
	// Cgroup is the task's own cgroup (a directory of the cgroup v2
	// hierarchy) when its containment is a cgroup; empty when it is the
	// tree (subreaper, group and run tag).
	Cgroup string `json:"cgroup,omitempty"`
	// ResourceLimits are the task's --memory, --cpus and --pids as given,
	// as docker tasks record theirs.
	ResourceLimits map[string]string `json:"resource_limits,omitempty"`

	extra map[string]json.RawMessage
}

// Containment names how a native task's processes are held together:
// ContainmentCgroup or ContainmentTree.
func (n *Native) Containment() string {
	if n == nil {
		return ""
	}
	if n.Cgroup != "" {
		return ContainmentCgroup
	}
	return ContainmentTree
}

// The containments of a native task.
const (
	ContainmentCgroup = "cgroup" // every process in the task's cgroup, exactly
	ContainmentTree   = "tree"   // group, descent and run tag (README: what a run tag cannot see)
)

// Docker identifies the container of a docker task.
type Docker struct {
	ContainerID    string            `json:"container_id"`
	ContainerName  string            `json:"container_name"`
	ResourceLimits map[string]string `json:"resource_limits"`
	Image          string            `json:"image,omitempty"`

	extra map[string]json.RawMessage
}

// Proc identifies one process: a pid alone is never enough.
type Proc struct {
	PID        int    `json:"pid"`
	StartTicks uint64 `json:"start_ticks,omitempty"`
	StartTime  string `json:"start_time,omitempty"` // RFC 3339, informative
	BootID     string `json:"boot_id,omitempty"`
	Host       string `json:"host,omitempty"`
	// PIDNS is the inode of the process's PID namespace: its pid means
	// that process only inside that namespace.
	PIDNS uint64 `json:"pid_ns,omitempty"`
}

// Started parses StartedAt; the zero time if it is missing or malformed.
func (t *Task) Started() time.Time { return parseTime(t.StartedAt) }

// Completed parses CompletedAt; the zero time if it is missing or malformed.
func (t *Task) Completed() time.Time { return parseTime(t.CompletedAt) }

// DeadlineTime parses Deadline; the zero time if there is none.
func (t *Task) DeadlineTime() time.Time { return parseTime(t.Deadline) }

// Overdue reports whether the task is past its deadline plus its grace
// plus slack at now: its supervisor should have ended it by then.
func (t *Task) Overdue(now time.Time, slack time.Duration) bool {
	d := t.DeadlineTime()
	if d.IsZero() {
		return false
	}
	grace := time.Duration(t.KillAfter * float64(time.Second))
	return now.After(d.Add(grace + slack))
}

// Finished reports whether the task has a final status.
func (t *Task) Finished() bool { return t.Status != StatusRunning }

// FormatTime is the registry's time format: RFC 3339 in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// The known member names are computed on first use, not at package init:
// the exec path only decodes the few entries it touches.
var (
	taskKeys   = sync.OnceValue(func() map[string]bool { return jsonKeys(Task{}) })
	nativeKeys = sync.OnceValue(func() map[string]bool { return jsonKeys(Native{}) })
	dockerKeys = sync.OnceValue(func() map[string]bool { return jsonKeys(Docker{}) })
)

type taskAlias Task
type nativeAlias Native
type dockerAlias Docker

// UnmarshalJSON decodes a task and remembers the fields it does not know.
func (t *Task) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, (*taskAlias)(t)); err != nil {
		return err
	}
	var err error
	t.extra, err = unknownFields(b, taskKeys())
	return err
}

// MarshalJSON encodes a task with the unknown fields it was read with.
func (t *Task) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal((*taskAlias)(t))
	if err != nil {
		return nil, err
	}
	return withFields(b, t.extra), nil
}

// UnmarshalJSON decodes and remembers unknown fields.
func (n *Native) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, (*nativeAlias)(n)); err != nil {
		return err
	}
	var err error
	n.extra, err = unknownFields(b, nativeKeys())
	return err
}

// MarshalJSON encodes with the unknown fields it was read with.
func (n *Native) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal((*nativeAlias)(n))
	if err != nil {
		return nil, err
	}
	return withFields(b, n.extra), nil
}

// UnmarshalJSON decodes and remembers unknown fields.
func (d *Docker) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, (*dockerAlias)(d)); err != nil {
		return err
	}
	var err error
	d.extra, err = unknownFields(b, dockerKeys())
	return err
}

// MarshalJSON encodes with the unknown fields it was read with.
func (d *Docker) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal((*dockerAlias)(d))
	if err != nil {
		return nil, err
	}
	return withFields(b, d.extra), nil
}

// unknownFields returns the members of object b whose names are not in known.
func unknownFields(b []byte, known map[string]bool) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	var extra map[string]json.RawMessage
	for k, v := range all {
		if known[k] {
			continue
		}
		if extra == nil {
			extra = make(map[string]json.RawMessage)
		}
		extra[k] = v
	}
	return extra, nil
}

// withFields appends extra members to the encoded object b. The names in
// extra never collide with b's because they are unknown to its type.
func withFields(b []byte, extra map[string]json.RawMessage) []byte {
	if len(extra) == 0 {
		return b
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.Write(b[:len(b)-1])
	empty := bytes.Equal(bytes.TrimSpace(b), []byte("{}"))
	for i, k := range keys {
		if i > 0 || !empty {
			buf.WriteByte(',')
		}
		name, _ := json.Marshal(k)
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(extra[k])
	}
	buf.WriteByte('}')
	return buf.Bytes()
}
