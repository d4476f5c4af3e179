package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

var cleanupCommand = &cli.Command{
	Name:  "cleanup",
	Usage: "drop finished tasks older than --days (running tasks are never dropped)",
	Description: fmt.Sprintf(`Removes finished tasks (completed, failed, cancelled) whose end is more than
--days ago, from the registry and from its history. Without cleanup the
registry file still stays small: past %d finished tasks the oldest move to
the history file beside it (%s), down to %d; the
history is rotated at %d MiB, keeping one older file (.1).`, registry.ArchiveAt,
		filepath.Base(registry.HistoryPath("process_registry.json")), registry.KeepFinished, registry.HistoryMax>>20),
	Flags: []cli.Flag{
		&cli.Float64Flag{Name: "days", Aliases: []string{"d"}, Usage: "age in days", Value: 7},
		&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "say what would be dropped"},
		registryFlag,
	},
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		days := c.Float64("days")
		if days < 0 || days != days {
			return launch.Failf("", "--days must be zero or more, not %v", c.Float64("days"))
		}
		// A registry that is not there has nothing to drop: cleanup
		// neither creates it nor its directory.
		store, err := openStoreForReading(c)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(store.Path); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(c.App.Writer, "watchdog: cleanup: no registry at %s, nothing to remove\n", esc(store.Path))
			return nil
		}
		cutoff := time.Now().Add(-time.Duration(days * 24 * float64(time.Hour)))
		var dropped, logs []string
		// A dropped task's default log goes with it; a --log=FILE the user
		// named is theirs.
		dropLog := func(id string, t *registry.Task) {
			if t.Log != "" && t.RunID != "" && t.Log == tasklog.PathFor(store.Path, id, t.RunID) {
				logs = append(logs, t.Log)
			}
		}
		old := func(t *registry.Task) bool {
			if t == nil || !t.Finished() {
				return false // running tasks stay
			}
			at := t.Completed()
			if at.IsZero() {
				at = t.Started()
			}
			return !at.IsZero() && at.Before(cutoff)
		}
		err = store.Update(func(r *registry.Registry) error {
			for _, id := range r.IDs() {
				t, err := r.Get(id)
				if err != nil || !old(t) {
					continue // undecodable entries and running tasks stay
				}
				dropped = append(dropped, id)
				dropLog(id, t)
				if !c.Bool("dry-run") {
					r.Delete(id)
				}
			}
			return nil
		})
		if err != nil {
			return launch.Fail(err, "")
		}
		_, err = store.FilterHistory(func(id string, t *registry.Task) bool {
			if old(t) {
				dropped = append(dropped, id)
				dropLog(id, t)
				return false
			}
			return true
		}, c.Bool("dry-run"))
		if err != nil {
			return launch.Fail(err, "")
		}
		verb := "removed"
		if c.Bool("dry-run") {
			verb = "would remove"
		}
		fmt.Fprintf(c.App.Writer, "watchdog: cleanup: %s %d finished task(s) older than %v day(s) from %s\n", verb, len(dropped), days, esc(store.Path))
		removed := 0
		for _, l := range logs {
			if c.Bool("dry-run") {
				if _, err := os.Lstat(l); err == nil {
					removed++
				}
			} else if err := os.Remove(l); err == nil {
				removed++
			} else if !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(c.App.ErrWriter, "watchdog: warning: cannot remove the log %s: %v\n", esc(l), err)
			}
		}
		if removed > 0 {
			fmt.Fprintf(c.App.Writer, "watchdog: cleanup: %s %d of their log(s)\n", verb, removed)
		}
		if c.Bool("dry-run") {
			for _, id := range dropped { // which ones, so the real run is no surprise
				fmt.Fprintf(c.App.Writer, "  %s\n", supervise.Escape(id))
			}
		}
		return nil
	},
}
