package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

var rehydrateCommand = &cli.Command{
	Name:  "rehydrate",
	Usage: "what an agent needs after losing its context: what runs, what failed, what to type next",
	Description: `Running tasks first (command, how long, time left, alive or not, resource
use), then recent failures with their reasons, then the commands to inspect
or stop them. Short enough to paste into a prompt.`,
	Flags: []cli.Flag{jsonFlag, registryFlag,
		&cli.StringFlag{Name: "since", Usage: "failures within this `DURATION`", Value: "24h"},
		&cli.IntFlag{Name: "limit", Usage: "at most this many failures", Value: 10}},
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		since, err := supervise.ParseDuration(c.String("since"))
		if err != nil {
			return launch.Fail(fmt.Errorf("--since: %w", err), "")
		}
		store, err := openStoreForReading(c)
		if err != nil {
			return err
		}
		views, err := loadViews(store, nil, false, true)
		if err != nil {
			return launch.Fail(err, "")
		}
		cut := time.Now().Add(-since)
		var running, failed []taskView
		for _, v := range views {
			switch {
			case v.Status == registry.StatusRunning:
				running = append(running, v)
			case v.Status == registry.StatusFailed && len(failed) < c.Int("limit"):
				if end, err := time.Parse(time.RFC3339Nano, v.CompletedAt); err == nil && end.After(cut) {
					failed = append(failed, v)
				}
			}
		}
		if c.Bool("json") {
			return writeJSON(c.App.Writer, struct {
				Registry string     `json:"registry"`
				Running  []taskView `json:"running"`
				Failed   []taskView `json:"recent_failures"`
				Next     []string   `json:"next"`
			}{store.Path, nonNil(running), nonNil(failed), nextSteps(running, failed)})
		}
		printRehydrate(c.App.Writer, store.Path, running, failed, since)
		return nil
	},
}

// printRehydrate writes the summary; values from the registry and the
// registry's path are escaped (esc).
func printRehydrate(w io.Writer, path string, running, failed []taskView, since time.Duration) {
	fmt.Fprintf(w, "# watchdog: %d running, %d failed in the last %s (registry %s)\n", len(running), len(failed), humanDuration(since.Seconds()), esc(path))
	if len(running) > 0 {
		fmt.Fprintln(w, "\nRUNNING")
		for _, v := range running {
			state := "alive"
			if !watched(v) {
				state = "not watched (registered without --pid; watchdog kill " + esc(v.ID) + " closes it)"
			} else if !v.Alive {
				state = "NOT ALIVE (run watchdog sweep)"
			} else if v.Supervisor != nil && !v.Supervisor.Alive {
				state = "alive, supervisor gone (run watchdog sweep)"
			}
			fmt.Fprintf(w, "- %s: %s\n  running %s, left %s, %s, %d process(es), CPU %.1f%%, memory %s\n",
				esc(v.ID), truncate(esc(v.Command), 100), humanDuration(v.ElapsedSeconds), left(v), state, v.ProcessCount, v.CPUPercent, humanBytes(v.MemoryBytes))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "\nRECENT FAILURES")
		for _, v := range failed {
			ago := "?"
			if end, err := time.Parse(time.RFC3339Nano, v.CompletedAt); err == nil {
				ago = humanDuration(time.Since(end).Seconds()) + " ago"
			}
			fmt.Fprintf(w, "- %s: %s\n  %s, %s\n", esc(v.ID), truncate(esc(v.Command), 100), esc(statusLine(v)), ago)
		}
	}
	if next := nextSteps(running, failed); len(next) > 0 {
		fmt.Fprintln(w, "\nNEXT")
		for _, n := range next {
			fmt.Fprintf(w, "  %s\n", esc(n))
		}
	}
}

func nextSteps(running, failed []taskView) []string {
	var out []string
	for _, v := range running {
		out = append(out, "watchdog check "+v.ID, "watchdog kill "+v.ID)
	}
	for _, v := range failed {
		out = append(out, "watchdog check "+v.ID)
		if v.Log != "" {
			out = append(out, "watchdog logs "+v.ID+" --tail 50") // the failure's output, without running it again
		}
	}
	if slices.ContainsFunc(running, watched) {
		out = append(out, "watchdog sweep")
	}
	return out
}

// watched: something can tell when the task ends (a supervisor, or an
// adopted pid); a task registered without --pid ends only by kill.
func watched(v taskView) bool { return v.PID != 0 || v.Supervisor != nil }
