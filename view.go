package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// taskView is one task as the reading commands show it. Its JSON form is
// the documented, stable schema of `--json` output: times are RFC 3339,
// durations are seconds, absent values are omitted.
type taskView struct {
	ID                string            `json:"id"`
	Mode              string            `json:"mode"`
	Status            string            `json:"status"`
	Reason            string            `json:"reason,omitempty"`
	ExitCode          *int              `json:"exit_code,omitempty"`
	Signal            string            `json:"signal,omitempty"`
	Command           string            `json:"command"`
	Argv              []string          `json:"argv,omitempty"`
	PID               int               `json:"pid,omitempty"`
	PGID              int               `json:"pgid,omitempty"`
	Containment       string            `json:"containment,omitempty"` // native: cgroup or tree
	Cgroup            string            `json:"cgroup,omitempty"`
	ResourceLimits    map[string]string `json:"resource_limits,omitempty"`
	OOMKills          int               `json:"oom_kills,omitempty"`
	PeakMemoryBytes   int64             `json:"peak_memory_bytes,omitempty"`
	CPUSeconds        float64           `json:"cpu_seconds,omitempty"`
	ContainerID       string            `json:"container_id,omitempty"`
	ContainerName     string            `json:"container_name,omitempty"`
	StartedAt         string            `json:"started_at,omitempty"`
	CompletedAt       string            `json:"completed_at,omitempty"`
	Deadline          string            `json:"deadline,omitempty"`
	ElapsedSeconds    float64           `json:"elapsed_seconds"`
	RemainingSeconds  *float64          `json:"remaining_seconds,omitempty"`
	TimeoutSeconds    float64           `json:"timeout_seconds,omitempty"`
	KillAfterSeconds  float64           `json:"kill_after_seconds,omitempty"`
	Cwd               string            `json:"cwd,omitempty"`
	RunID             string            `json:"run_id,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	ConstitutionRules []string          `json:"constitution_rules,omitempty"`
	Supervisor        *supervisorView   `json:"supervisor,omitempty"`
	Alive             bool              `json:"alive"`
	Processes         []procView        `json:"processes,omitempty"`
	ProcessCount      int               `json:"process_count"`
	CPUPercent        float64           `json:"cpu_percent"`
	MemoryBytes       int64             `json:"memory_bytes"`
	WaitingForInput   []inputWaitView   `json:"waiting_for_input,omitempty"`    // list, check: its processes blocked reading input (fillInputWaits)
	Log               string            `json:"log,omitempty"`                  // --log: the file its output was kept in
	IdleTimeout       float64           `json:"idle_timeout_seconds,omitempty"` // --idle-timeout
	ReadyAt           string            `json:"ready_at,omitempty"`             // --detach --ready-*: when it was ready
	ReadySeconds      float64           `json:"ready_seconds,omitempty"`        // how long after its start
	Port              int               `json:"port,omitempty"`                 // --ready-port
	TiedTo            *registry.Proc    `json:"tied_to,omitempty"`              // --tie
	Error             string            `json:"error,omitempty"`
	Registry          string            `json:"registry,omitempty"` // list --all: where the task is recorded

	started  time.Time
	measured bool // the live figures were read: a running task's tree, or watchdog-docker answered for its container
	// members are the live tree's pids when one of them sleeps: what
	// fillInputWaits looks at (a process that runs is reading nothing).
	members []int
}

// MarshalJSON writes the view's documented schema. The live figures
// (alive, process_count, cpu_percent, memory_bytes) are there only when
// they were measured: a running task with a recorded process, or a
// container watchdog-docker answered for. A finished task has none, so
// none are shown (not zeros that read as measurements).
func (v taskView) MarshalJSON() ([]byte, error) {
	type fields taskView // the same fields without this method
	var x any = fields(v)
	if !v.measured {
		// The outer fields hide the embedded ones of the same name, and
		// being nil they are left out.
		x = struct {
			fields
			Alive        *bool    `json:"alive,omitempty"`
			ProcessCount *int     `json:"process_count,omitempty"`
			CPUPercent   *float64 `json:"cpu_percent,omitempty"`
			MemoryBytes  *int64   `json:"memory_bytes,omitempty"`
		}{fields: fields(v)}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as writeJSON: a command's && stays &&
	if err := enc.Encode(x); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// inputWaitView is one process blocked reading input (supervise.InputWait).
type inputWaitView struct {
	PID    int    `json:"pid"`
	Comm   string `json:"comm,omitempty"`
	FD     int    `json:"fd"`
	On     string `json:"on"`
	Detail string `json:"detail"`
	Others int    `json:"others,omitempty"` // other files a poll waits on at the same time
	Text   string `json:"text"`             // the sentence check prints
}

// fillInputWaits says, for each running native task with a sleeping
// process, which of its processes are blocked reading input. The whole
// live tree is passed, not only the sleepers: whether a pipe has a writer
// in the task depends on every member.
func fillInputWaits(views []taskView) {
	for i := range views {
		v := &views[i]
		if len(v.members) == 0 {
			continue
		}
		for _, w := range supervise.InputWaits(v.members) {
			v.WaitingForInput = append(v.WaitingForInput, inputWaitView{PID: w.PID, Comm: w.Comm, FD: w.FD,
				On: w.On, Detail: w.Detail, Others: w.Others, Text: w.Describe()})
		}
	}
}

type supervisorView struct {
	PID   int    `json:"pid"`
	Host  string `json:"host,omitempty"`
	Alive bool   `json:"alive"`
}

type procView struct {
	PID         int     `json:"pid"`
	PPID        int     `json:"ppid"`
	PGID        int     `json:"pgid"`
	State       string  `json:"state"`
	CPUPercent  float64 `json:"cpu_percent"`
	MemoryBytes int64   `json:"memory_bytes"`
	Recorded    bool    `json:"recorded"` // the pid the registry holds (its start time matches)

	ticks uint64 // CPU ticks so far, for sampling
}

// snapshot is one read of every process, shared by all the tasks shown:
// each task's tree is matched against it, and each process's environment
// is read once however many tasks look for their tag in it.
type snapshot struct {
	procs *supervise.Procs
	at    time.Time
}

func takeSnapshot() *snapshot {
	all, _ := supervise.Snapshot()
	return &snapshot{procs: supervise.IndexProcs(all), at: time.Now()}
}

func newView(id string, t *registry.Task, snap *snapshot, withProcs bool) taskView {
	v := taskView{ID: id, Mode: t.Mode, Status: t.Status, Reason: t.Reason, ExitCode: t.ExitCode, Signal: t.Signal,
		Command: t.Command, Argv: t.Argv, StartedAt: t.StartedAt, CompletedAt: t.CompletedAt, Deadline: t.Deadline,
		TimeoutSeconds: t.TimeoutSeconds, KillAfterSeconds: t.KillAfter, Cwd: t.Cwd, RunID: t.RunID, Labels: t.Labels, ConstitutionRules: t.ConstitutionRules, Error: t.Error,
		Log: t.Log, IdleTimeout: t.IdleTimeout, ReadyAt: t.ReadyAt, ReadySeconds: t.ReadySeconds, Port: t.Port, TiedTo: t.TiedTo}
	if v.Mode == "" {
		v.Mode = registry.ModeNative
	}
	if n := t.Native; n != nil {
		v.PID, v.PGID = n.PID, n.PGID
		v.Containment, v.Cgroup = n.Containment(), n.Cgroup
		v.ResourceLimits = n.ResourceLimits
	}
	v.OOMKills, v.PeakMemoryBytes, v.CPUSeconds = t.OOMKills, t.PeakMemoryBytes, t.CPUSeconds
	if d := t.Docker; d != nil {
		v.ContainerID, v.ContainerName = d.ContainerID, d.ContainerName
	}
	v.started = t.Started()
	end := snap.at
	if t.Finished() {
		if c := t.Completed(); !c.IsZero() {
			end = c
		}
	}
	if !v.started.IsZero() && end.After(v.started) {
		v.ElapsedSeconds = round1(end.Sub(v.started).Seconds())
	}
	if dl := t.DeadlineTime(); !dl.IsZero() && !t.Finished() {
		left := round1(dl.Sub(snap.at).Seconds())
		v.RemainingSeconds = &left
	}
	if s := t.Supervisor; s != nil {
		v.Supervisor = &supervisorView{PID: s.PID, Host: s.Host, Alive: launch.SupervisorAlive(t)}
	}
	if t.Status == registry.StatusRunning && t.Native != nil {
		v.measured = true
		live, _ := launch.TaskTree(t).MembersOf(snap.procs)
		supervise.FillFigures(live) // macOS: gopsutil; Linux: already read from /proc
		v.ProcessCount = len(live)
		v.Alive = len(live) > 0
		var ticks uint64
		asleep := false
		for _, p := range live {
			asleep = asleep || p.State == 'S'
			ticks += p.CPUTicks
			mem := p.RSSPages * supervise.PageSize
			v.MemoryBytes += mem
			if withProcs {
				v.Processes = append(v.Processes, procView{PID: p.PID, PPID: p.PPID, PGID: p.PGID, State: string(p.State),
					CPUPercent: round1(cpuPercent(p.CPUTicks, p.StartTicks, snap)), MemoryBytes: mem,
					Recorded: p.PID == t.Native.PID, ticks: p.CPUTicks})
			}
		}
		if asleep {
			for _, p := range live {
				v.members = append(v.members, p.PID)
			}
		}
		if !v.started.IsZero() {
			if secs := snap.at.Sub(v.started).Seconds(); secs > 0 {
				v.CPUPercent = round1(float64(ticks) / supervise.ClockTicks / secs * 100)
			}
		}
	}
	return v
}

// cpuPercent is a process's average CPU use over its life.
func cpuPercent(cpu, start uint64, snap *snapshot) float64 {
	began := supervise.StartWallTime(start) // zero when the boot time is unknown
	if began.IsZero() {
		return 0
	}
	life := snap.at.Sub(began).Seconds()
	if life <= 0 {
		return 0
	}
	return float64(cpu) / supervise.ClockTicks / life * 100
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// loadViews reads the registry and builds the views, newest first.
// Entries that do not decode are reported on stderr and skipped.
func loadViews(store *registry.Store, filter func(*registry.Task) bool, withProcs, history bool) ([]taskView, error) {
	return loadViewsAt(store, takeSnapshot(), filter, withProcs, history)
}

// loadViewsAt is loadViews with the processes read once by the caller, for
// commands that show several registries.
func loadViewsAt(store *registry.Store, snap *snapshot, filter func(*registry.Task) bool, withProcs, history bool) ([]taskView, error) {
	load := store.Load
	if history {
		load = store.LoadWithHistory
	}
	r, err := load()
	if err != nil {
		return nil, err
	}
	var views []taskView
	for _, id := range r.IDs() {
		t, err := r.Get(id)
		if err != nil {
			fmt.Fprintf(os.Stderr, "watchdog: warning: %s (entry kept as it is)\n", esc(err.Error()))
			continue
		}
		if filter != nil && !filter(t) {
			continue
		}
		views = append(views, newView(id, t, snap, withProcs))
	}
	fillContainerUsage(views)
	sort.SliceStable(views, func(i, j int) bool {
		if !views[i].started.Equal(views[j].started) {
			return views[i].started.After(views[j].started)
		}
		return views[i].ID < views[j].ID
	})
	return views, nil
}

// human formats durations and sizes for tables.
func humanDuration(secs float64) string {
	if secs < 0 {
		return "-" + humanDuration(-secs)
	}
	d := time.Duration(secs * float64(time.Second))
	// Two units at most, the second left out when it is zero: "24h", not
	// "24h00m".
	twoUnits := func(big int, bigUnit string, small int, smallUnit string) string {
		if small == 0 {
			return fmt.Sprintf("%d%s", big, bigUnit)
		}
		return fmt.Sprintf("%d%s%02d%s", big, bigUnit, small, smallUnit)
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d < time.Hour:
		return twoUnits(int(d.Minutes()), "m", int(d.Seconds())%60, "s")
	case d < 48*time.Hour:
		return twoUnits(int(d.Hours()), "h", int(d.Minutes())%60, "m")
	default:
		return twoUnits(int(d.Hours())/24, "d", int(d.Hours())%24, "h")
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0fK", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%dB", n)
	}
}

// esc is how human output shows a value that came from the user or the
// registry (command lines, labels, container names, paths, errors):
// supervise.Escape, the one quoting rule of the watchdog's messages. JSON
// shows values as they are.
func esc(s string) string { return supervise.Escape(s) }

// writeTable writes rows (the first is the header) as aligned columns: each
// cell escaped, every column but the last padded to its widest cell plus
// two spaces (as text/tabwriter did), the last one cut to fit width
// (terminal columns; 0: never cut). paint, if not nil, colours a cell's
// text after its width is measured and before it is padded, so colour
// codes take no width.
func writeTable(w io.Writer, rows [][]string, width int, paint func(row, col int, s string) string) error {
	if len(rows) == 0 {
		return nil
	}
	ncol := len(rows[0])
	widths := make([]int, ncol)
	cells := make([][]string, len(rows))
	for i, row := range rows {
		cells[i] = make([]string, len(row))
		for j, c := range row {
			cells[i][j] = esc(c)
			if n := utf8.RuneCountInString(cells[i][j]); j < ncol-1 && n > widths[j] {
				widths[j] = n
			}
		}
	}
	start := 0 // where the last column starts
	for _, n := range widths[:ncol-1] {
		start += n + 2
	}
	var b strings.Builder
	for i, row := range cells {
		b.Reset()
		for j, c := range row {
			last := j == len(row)-1
			if last && width > 0 {
				c = truncate(c, max(width-start, 12))
			}
			pad := 0
			if !last {
				pad = widths[j] + 2 - utf8.RuneCountInString(c)
			}
			if paint != nil {
				c = paint(i, j, c)
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", pad))
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}
