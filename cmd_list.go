package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
	"golang.org/x/sys/unix"
)

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print JSON (the schema in the README)"}

var listCommand = &cli.Command{
	Name:    "list",
	Aliases: []string{"ps"},
	Usage:   "every task, newest first, with live resource use of its whole tree",
	Description: `Columns: id, mode, status, pid or container, started, elapsed (or how long
it ran), time left to its deadline, CPU% (average over the processes' lives)
and memory of every live process of the task's tree, exit code or reason,
command. Colours only on a terminal (or with CLICOLOR_FORCE=1), never with
NO_COLOR or TERM=dumb; on a terminal the command is cut to its width.
Control characters in values are shown escaped (\n, \033). A running task
with a process blocked reading input (a terminal, a pipe nobody in the task
writes) shows as running*, and a line under the table, after a blank line,
names the process and what it reads (--json: waiting_for_input).`,
	Flags: []cli.Flag{jsonFlag, &cli.BoolFlag{Name: "running", Aliases: []string{"r"}, Usage: "only running tasks"},
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "every registry this user has used (the index under $XDG_STATE_HOME/watchdog/), one table each"},
		registryFlag},
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		var filter func(*registry.Task) bool
		if c.Bool("running") {
			filter = func(t *registry.Task) bool { return t.Status == registry.StatusRunning }
		}
		if c.Bool("all") {
			return listAll(c, filter)
		}
		store, err := openStoreForReading(c)
		if err != nil {
			return err
		}
		views, err := loadViews(store, filter, false, filter == nil)
		if err != nil {
			return launch.Fail(err, "")
		}
		fillInputWaits(views)
		if c.Bool("json") {
			return writeJSON(c.App.Writer, struct {
				Registry string     `json:"registry"`
				Tasks    []taskView `json:"tasks"`
			}{store.Path, nonNil(views)})
		}
		if len(views) == 0 {
			fmt.Fprintf(c.App.Writer, "no %stasks in %s\n", runningWord(filter), esc(store.Path))
			return nil
		}
		printList(c.App.Writer, views, colorOn(c.App.Writer), termWidth(c.App.Writer))
		return nil
	},
}

// listAll is list --all: the current registry and every one in the index,
// read with one snapshot of the processes. A registry that cannot be read
// is reported and the others are still shown; the exit status is then 1.
func listAll(c *cli.Context, filter func(*registry.Task) bool) error {
	known, err := registry.Known()
	if err != nil {
		return launch.Fail(fmt.Errorf("read the registry index: %w", err), "")
	}
	paths := registry.Select(registryPath(c), known, true)
	snap := takeSnapshot()
	type section struct {
		path  string
		views []taskView
	}
	var sections []section
	var all []taskView
	var failures []string
	for _, p := range paths {
		views, err := func() ([]taskView, error) {
			store, err := registry.OpenForReading(p)
			if err != nil {
				return nil, err
			}
			store.Warn = storeWarnings(c)
			views, err := loadViewsAt(store, snap, filter, false, filter == nil)
			fillInputWaits(views)
			return views, err
		}()
		if err != nil {
			fmt.Fprintf(c.App.ErrWriter, "watchdog: %s\n", esc(err.Error()))
			failures = append(failures, err.Error())
			continue
		}
		for i := range views {
			views[i].Registry = p
		}
		if len(views) > 0 {
			sections = append(sections, section{p, views})
			all = append(all, views...)
		}
	}
	w := c.App.Writer
	switch {
	case c.Bool("json"):
		if err := writeJSON(w, struct {
			Registries []string   `json:"registries"`
			Tasks      []taskView `json:"tasks"`
			Errors     []string   `json:"errors,omitempty"` // registries that could not be read
		}{paths, nonNil(all), failures}); err != nil {
			return err
		}
	case len(sections) == 0:
		fmt.Fprintf(w, "no %stasks in the %d registries this user has used (listed in %s)\n", runningWord(filter), len(paths), esc(registry.IndexPath()))
	default:
		for i, s := range sections {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "%s:\n", esc(s.path))
			printList(w, s.views, colorOn(w), termWidth(w))
		}
	}
	if len(failures) > 0 {
		return launch.Exit(1)
	}
	return nil
}

func runningWord(filter func(*registry.Task) bool) string {
	if filter != nil {
		return "running "
	}
	return ""
}

func nonNil(v []taskView) []taskView {
	if v == nil {
		return []taskView{}
	}
	return v
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// colorOn decides whether human output to w is coloured: never when
// NO_COLOR is set and not empty (no-color.org); always when CLICOLOR_FORCE
// is set and not empty or "0" (bixense.com/clicolors); otherwise only on a
// terminal whose TERM is not "dumb".
func colorOn(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	if f := os.Getenv("CLICOLOR_FORCE"); f != "" && f != "0" {
		return true
	}
	return os.Getenv("TERM") != "dumb" && terminalFd(w) >= 0
}

// terminalFd is w's file descriptor if w is a terminal, else -1.
func terminalFd(w io.Writer) int {
	if f, ok := w.(*os.File); ok && isTerminal(int(f.Fd())) {
		return int(f.Fd())
	}
	return -1
}

// termWidth is the number of columns of the terminal w writes to; 0 when
// w is not a terminal or the terminal does not say (nothing is cut then).
func termWidth(w io.Writer) int {
	fd := terminalFd(w)
	if fd < 0 {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

func paint(on bool, status, s string) string {
	if !on {
		return s
	}
	code := ""
	switch status {
	case registry.StatusRunning:
		code = "36" // cyan
	case registry.StatusCompleted:
		code = "32"
	case registry.StatusFailed:
		code = "31"
	case registry.StatusCancelled:
		code = "33"
	}
	if code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// printList writes the list table; width is the terminal's (0: the
// command is never cut). A task with a process waiting for input is
// marked in its STATUS ("running*", still one word, so the columns hold)
// and explained under the table, after a blank line, one line per
// process: "* ID: pid N (comm) is waiting for input on ...".
func printList(w io.Writer, views []taskView, color bool, width int) {
	rows := [][]string{{"ID", "MODE", "STATUS", "PID/CONTAINER", "STARTED", "ELAPSED", "LEFT", "CPU%", "MEM", "EXIT", "COMMAND"}}
	var notes []string
	for _, v := range views {
		status := v.Status
		if len(v.WaitingForInput) > 0 {
			status += waitingMark
			for _, in := range v.WaitingForInput {
				notes = append(notes, waitingMark+" "+esc(v.ID)+": "+esc(in.Text))
			}
		}
		if v.Status == registry.StatusRunning && v.ReadyAt != "" {
			notes = append(notes, esc(v.ID)+": "+readyLine(v))
		}
		rows = append(rows, []string{v.ID, v.Mode, status, where(v), startedShort(v), humanDuration(v.ElapsedSeconds),
			left(v), cpuCol(v), memCol(v), exitCol(v), v.Command})
	}
	const statusCol = 2
	writeTable(w, rows, width, func(row, col int, s string) string {
		if row == 0 || col != statusCol {
			return s
		}
		return paint(color, views[row-1].Status, s)
	})
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
}

// readyLine says when a detached task was ready, and on which port.
func readyLine(v taskView) string {
	s := fmt.Sprintf("ready after %s", humanSeconds(v.ReadySeconds))
	if v.Port > 0 {
		s = fmt.Sprintf("ready on port %d after %s", v.Port, humanSeconds(v.ReadySeconds))
	}
	return s + " (" + v.ReadyAt + ")"
}

// humanSeconds shows a short time to the hundredth: 2.31s.
func humanSeconds(s float64) string { return strconv.FormatFloat(s, 'f', 2, 64) + "s" }

// waitingMark follows the status of a task waiting for input in list's
// table, and starts each line under it that says which process waits.
const waitingMark = "*"

func where(v taskView) string {
	switch {
	case v.ContainerName != "":
		return v.ContainerName
	case v.PID != 0:
		return fmt.Sprint(v.PID)
	}
	return "-"
}

func startedShort(v taskView) string {
	if v.started.IsZero() {
		return "-"
	}
	t := v.started.Local()
	if time.Since(t) < 20*time.Hour {
		return t.Format("15:04:05")
	}
	return t.Format("Jan 02 15:04")
}

func left(v taskView) string {
	if v.RemainingSeconds == nil {
		return "-"
	}
	if *v.RemainingSeconds < 0 {
		return "overdue " + humanDuration(-*v.RemainingSeconds)
	}
	return humanDuration(*v.RemainingSeconds)
}

func cpuCol(v taskView) string {
	if !v.measured {
		return "-"
	}
	return fmt.Sprintf("%.1f", v.CPUPercent)
}

func memCol(v taskView) string {
	if !v.measured && v.PeakMemoryBytes > 0 {
		return humanBytes(v.PeakMemoryBytes) // a finished task's peak, from its cgroup
	}
	if !v.measured {
		return "-"
	}
	return humanBytes(v.MemoryBytes)
}

func exitCol(v taskView) string {
	var parts []string
	if v.ExitCode != nil {
		parts = append(parts, fmt.Sprint(*v.ExitCode))
	}
	if v.Reason != "" && v.Reason != registry.ReasonExited {
		parts = append(parts, v.Reason)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var checkCommand = &cli.Command{
	Name:         "check",
	Aliases:      []string{"status"},
	Usage:        "one task in detail: its record, whether each process is really alive, live resource use",
	ArgsUsage:    "ID",
	Flags:        []cli.Flag{jsonFlag, registryFlag},
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		store, err := openStoreForReading(c)
		if err != nil {
			return err
		}
		t, err := getTask(store, id)
		if err != nil {
			return err
		}
		views := []taskView{newView(id, t, takeSnapshot(), true)}
		fillContainerUsage(views)
		fillInputWaits(views)
		v := views[0]
		if c.Bool("json") {
			return writeJSON(c.App.Writer, v)
		}
		printCheck(c.App.Writer, v, t, colorOn(c.App.Writer))
		return nil
	},
}

// oneID takes the single task id argument.
func oneID(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", launch.Failf("watchdog "+c.Command.Name+" T001", "%s takes one task id, got %d arguments", c.Command.Name, c.NArg())
	}
	id := c.Args().First()
	if err := registry.ValidateID(id); err != nil {
		return "", launch.Fail(err, "")
	}
	return id, nil
}

// getTask loads one task. An unknown id exits 1: the question was fine, the
// answer is "no such task".
func getTask(store *registry.Store, id string) (*registry.Task, error) {
	r, err := store.LoadWithHistory()
	if err != nil {
		return nil, launch.Fail(err, "")
	}
	t, err := r.Get(id)
	if err != nil {
		return nil, launch.Fail(err, "the entry is kept as it is; remove it with a text editor if it is garbage")
	}
	if t == nil {
		return nil, &launch.ExitError{Code: 1, Msg: fmt.Sprintf("no task %s in %s", supervise.Quote(id), esc(store.Path)), Hint: "watchdog list shows the tasks there"}
	}
	return t, nil
}

// printCheck writes one task in detail. Every string value is escaped
// (esc): they come from the registry, which any tool may have written.
func printCheck(w io.Writer, v taskView, t *registry.Task, color bool) {
	p := func(k, format string, a ...any) {
		for i, x := range a {
			if s, ok := x.(string); ok {
				a[i] = esc(s)
			}
		}
		fmt.Fprintf(w, "%-12s "+format+"\n", append([]any{k + ":"}, a...)...)
	}
	p("task", "%s", v.ID)
	fmt.Fprintf(w, "%-12s %s\n", "status:", paint(color, v.Status, esc(statusLine(v))))
	p("command", "%s", v.Command)
	p("mode", "%s", v.Mode)
	if v.StartedAt != "" {
		p("started", "%s (%s ago)", v.StartedAt, humanDuration(time.Since(v.started).Seconds()))
	}
	if v.CompletedAt != "" {
		p("completed", "%s (ran %s)", v.CompletedAt, humanDuration(v.ElapsedSeconds))
	} else {
		p("elapsed", "%s", humanDuration(v.ElapsedSeconds))
	}
	if v.Deadline != "" {
		if v.CompletedAt == "" {
			p("deadline", "%s (%s)", v.Deadline, left(v))
		} else {
			p("deadline", "%s", v.Deadline) // time left means nothing once it ended
		}
	}
	if s := v.Supervisor; s != nil && v.CompletedAt != "" && !s.Alive {
		p("supervisor", "pid %d on %s, exited", s.PID, s.Host)
	} else if s != nil {
		p("supervisor", "pid %d on %s, %s", s.PID, s.Host, aliveWord(s.Alive))
	} else if v.Mode == registry.ModeNative {
		p("supervisor", "none recorded (the earlier tool's entry, or registered)")
	}
	if v.ContainerName != "" {
		state := ""
		switch {
		case v.measured && v.Alive:
			state = fmt.Sprintf(": running, CPU %.1f%%, memory %s", v.CPUPercent, humanBytes(v.MemoryBytes))
		case v.measured:
			state = ": not running"
		}
		p("container", "%s %s%s", v.ContainerName, shortID(v.ContainerID), state)
	}
	if t.Native != nil {
		rec := "gone, or another process now"
		switch {
		case launch.CommandAlive(t):
			rec = "alive (start time matches)"
		case v.CompletedAt != "":
			rec = "exited" // a finished task's pid may be anyone's by now
		}
		p("pid", "%d (group %d): %s", t.Native.PID, t.Native.PGID, rec)
		if v.Cgroup != "" {
			p("containment", "cgroup %s", v.Cgroup)
		} else {
			p("containment", "tree (group, descent and run tag)")
		}
	}
	if v.Log != "" {
		p("log", "%s", esc(v.Log))
	}
	if v.IdleTimeout > 0 {
		p("idle", "%s without output ends it (--idle-timeout)", humanDuration(v.IdleTimeout))
	}
	if v.ReadyAt != "" {
		p("ready", "%s", readyLine(v))
	}
	if v.TiedTo != nil {
		p("tied to", "pid %d: the task ends when it exits (--tie)", v.TiedTo.PID)
	}
	if len(v.ResourceLimits) > 0 {
		var parts []string
		for _, k := range []string{"memory", "cpu", "pids"} {
			if x, ok := v.ResourceLimits[k]; ok {
				parts = append(parts, k+" "+x)
			}
		}
		p("limits", "%s", strings.Join(parts, ", "))
	}
	if used := usageLine(v); used != "" {
		p("used", "%s", used)
	}
	if v.Status == registry.StatusRunning && v.Mode == registry.ModeNative {
		p("tree", "%d live process(es), CPU %.1f%%, memory %s", v.ProcessCount, v.CPUPercent, humanBytes(v.MemoryBytes))
		for _, pr := range v.Processes {
			mark := ""
			if pr.Recorded {
				mark = " (recorded)"
			}
			fmt.Fprintf(w, "%-12s pid %d ppid %d pgid %d state %s cpu %.1f%% mem %s%s\n", "", pr.PID, pr.PPID, pr.PGID, esc(pr.State), pr.CPUPercent, humanBytes(pr.MemoryBytes), mark)
		}
	}
	for _, in := range v.WaitingForInput {
		p("waiting", "%s", in.Text)
	}
	keys := make([]string, 0, len(v.Labels))
	for k := range v.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p("label", "%s=%s", k, v.Labels[k])
	}
	if len(v.ConstitutionRules) > 0 {
		p("rules", "%s", strings.Join(v.ConstitutionRules, ", "))
	}
	if v.RunID != "" {
		p("run id", "%s", v.RunID)
	}
	if v.Error != "" {
		p("error", "%s", v.Error)
	}
}

// usageLine is what a finished task used, from its cgroup: "" if nothing
// was recorded.
func usageLine(v taskView) string {
	var parts []string
	if v.PeakMemoryBytes > 0 {
		parts = append(parts, "peak memory "+humanBytes(v.PeakMemoryBytes))
	}
	if v.CPUSeconds > 0 {
		parts = append(parts, fmt.Sprintf("CPU %.2fs", v.CPUSeconds))
	}
	if v.OOMKills > 0 {
		parts = append(parts, fmt.Sprintf("%d process(es) ended by the OOM killer", v.OOMKills))
	}
	return strings.Join(parts, ", ")
}

func statusLine(v taskView) string {
	s := v.Status
	if v.Reason != "" {
		s += " (" + v.Reason + ")"
	}
	if v.ExitCode != nil {
		s += fmt.Sprintf(", exit %d", *v.ExitCode)
	}
	if v.Signal != "" {
		s += ", signal " + v.Signal
	}
	return s
}

func aliveWord(b bool) string {
	if b {
		return "alive"
	}
	return "gone"
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

var statsCommand = &cli.Command{
	Name:         "stats",
	Usage:        "counts of tasks by status",
	Flags:        []cli.Flag{jsonFlag, registryFlag},
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		store, err := openStoreForReading(c)
		if err != nil {
			return err
		}
		r, err := store.LoadWithHistory()
		if err != nil {
			return launch.Fail(err, "")
		}
		st := struct {
			Registry  string         `json:"registry"`
			Total     int            `json:"total"`
			Running   int            `json:"running"`
			Completed int            `json:"completed"`
			Failed    int            `json:"failed"`
			Cancelled int            `json:"cancelled"`
			Other     int            `json:"other"`
			Reasons   map[string]int `json:"failed_by_reason"`
		}{Registry: store.Path, Reasons: map[string]int{}}
		for _, id := range r.IDs() {
			st.Total++
			status, _, ok := r.Peek(id)
			switch {
			case !ok:
				st.Other++
			case status == registry.StatusRunning:
				st.Running++
			case status == registry.StatusCompleted:
				st.Completed++
			case status == registry.StatusFailed:
				st.Failed++
				if t, err := r.Get(id); err == nil && t.Reason != "" {
					st.Reasons[t.Reason]++
				}
			case status == registry.StatusCancelled:
				st.Cancelled++
			default:
				st.Other++
			}
		}
		if c.Bool("json") {
			return writeJSON(c.App.Writer, st)
		}
		w := c.App.Writer
		if st.Total == 0 {
			fmt.Fprintf(w, "no tasks in %s\n", esc(store.Path))
			return nil
		}
		fmt.Fprintf(w, "total      %d\nrunning    %d\ncompleted  %d\nfailed     %d\ncancelled  %d\n", st.Total, st.Running, st.Completed, st.Failed, st.Cancelled)
		if st.Other > 0 {
			fmt.Fprintf(w, "other      %d\n", st.Other)
		}
		for _, reason := range []string{registry.ReasonExited, registry.ReasonSignaled, registry.ReasonTimeout, registry.ReasonOOM, registry.ReasonOrphaned, registry.ReasonLost, registry.ReasonStartErr} {
			if n := st.Reasons[reason]; n > 0 {
				fmt.Fprintf(w, "  failed (%s) %d\n", reason, n)
			}
		}
		return nil
	},
}

var reportCommand = &cli.Command{
	Name:  "report",
	Usage: "resource use of every running task's whole tree, sampled now",
	Flags: []cli.Flag{jsonFlag, registryFlag,
		&cli.StringFlag{Name: "sample", Usage: "measure CPU over this `DURATION`", Value: "500ms"}},
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		store, err := openStoreForReading(c)
		if err != nil {
			return err
		}
		sample, err := supervise.ParseDuration(c.String("sample"))
		if err != nil || sample <= 0 || sample > time.Minute {
			return launch.Failf("", "--sample: want a duration between 1ms and 1m, not %s", supervise.Quote(c.String("sample")))
		}
		running := func(t *registry.Task) bool { return t.Status == registry.StatusRunning }
		before, err := loadViews(store, running, true, false)
		if err != nil {
			return launch.Fail(err, "")
		}
		time.Sleep(sample) // the measurement interval itself, not synchronisation
		after, err := loadViews(store, running, true, false)
		if err != nil {
			return launch.Fail(err, "")
		}
		sampleCPU(before, after, sample)
		if c.Bool("json") {
			return writeJSON(c.App.Writer, struct {
				SampleSeconds float64    `json:"sample_seconds"`
				Tasks         []taskView `json:"tasks"`
			}{sample.Seconds(), nonNil(after)})
		}
		if len(after) == 0 {
			fmt.Fprintf(c.App.Writer, "no running tasks in %s\n", esc(store.Path))
			return nil
		}
		rows := [][]string{{"ID", "PROCS", "CPU%", "MEM", "ELAPSED", "LEFT", "COMMAND"}}
		for _, v := range after {
			rows = append(rows, []string{v.ID, fmt.Sprint(v.ProcessCount), fmt.Sprintf("%.1f", v.CPUPercent), humanBytes(v.MemoryBytes),
				humanDuration(v.ElapsedSeconds), left(v), v.Command})
		}
		return writeTable(c.App.Writer, rows, termWidth(c.App.Writer), nil)
	},
}

// sampleCPU replaces lifetime averages with use over the sample, from the
// CPU ticks of processes present in both reads.
func sampleCPU(before, after []taskView, d time.Duration) {
	prev := map[int]uint64{}
	for _, v := range before {
		for _, p := range v.Processes {
			prev[p.PID] = p.ticks
		}
	}
	for i := range after {
		v := &after[i]
		var total float64
		for j := range v.Processes {
			p := &v.Processes[j]
			p.CPUPercent = 0
			if pt, ok := prev[p.PID]; ok && p.ticks >= pt {
				p.CPUPercent = round1(float64(p.ticks-pt) / supervise.ClockTicks / d.Seconds() * 100)
			}
			total += p.CPUPercent
		}
		v.CPUPercent = round1(total)
	}
}
