package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/watchdog-run/watchdog/registry"
)

var cleanupCommand = &cli.Command{
	Name:  "cleanup",
	Usage: "drop finished tasks older than --days (running tasks are never dropped)",
	Description: fmt.Sprintf(`Removes finished tasks (completed, failed, cancelled) whose end is more than
--days ago. Without cleanup the registry still never grows without bound:
past %d finished tasks the oldest are dropped, down to %d.`, registry.MaxFinished, registry.PruneTo),
	Flags: []cli.Flag{
		&cli.Float64Flag{Name: "days", Aliases: []string{"d"}, Usage: "age in days", Value: 7},
		&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "say what would be dropped"},
		registryFlag,
	},
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		days := c.Float64("days")
		if days < 0 || days != days {
			return failf("", "--days must be zero or more, not %v", c.Float64("days"))
		}
		store, err := openStore(c)
		if err != nil {
			return err
		}
		cutoff := time.Now().Add(-time.Duration(days * 24 * float64(time.Hour)))
		var dropped []string
		err = store.Update(func(r *registry.Registry) error {
			for _, id := range r.IDs() {
				t, err := r.Get(id)
				if err != nil || t == nil || !t.Finished() {
					continue // undecodable entries and running tasks stay
				}
				at := t.Completed()
				if at.IsZero() {
					at = t.Started()
				}
				if at.IsZero() || !at.Before(cutoff) {
					continue
				}
				dropped = append(dropped, id)
				if !c.Bool("dry-run") {
					r.Delete(id)
				}
			}
			return nil
		})
		if err != nil {
			return fail(err, "")
		}
		verb := "removed"
		if c.Bool("dry-run") {
			verb = "would remove"
		}
		fmt.Fprintf(c.App.Writer, "watchdog: cleanup: %s %d finished task(s) older than %v day(s)\n", verb, len(dropped), days)
		return nil
	},
}
