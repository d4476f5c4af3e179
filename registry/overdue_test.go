package registry

import (
	"testing"
	"time"
)

func TestOverdue(t *testing.T) {
	deadline := time.Date(2026, 1, 10, 15, 30, 0, 0, time.UTC)
	task := &Task{Deadline: FormatTime(deadline), KillAfter: 10}
	slack := 30 * time.Second
	cases := []struct {
		name string
		task *Task
		now  time.Time
		want bool
	}{
		{"before the deadline", task, deadline.Add(-time.Second), false},
		{"within the grace", task, deadline.Add(9 * time.Second), false},
		{"within grace plus slack", task, deadline.Add(40 * time.Second), false},
		{"past grace plus slack", task, deadline.Add(40*time.Second + time.Millisecond), true},
		{"no deadline", &Task{KillAfter: 10}, deadline.Add(24 * time.Hour), false},
		{"no grace", &Task{Deadline: FormatTime(deadline)}, deadline.Add(31 * time.Second), true},
	}
	for _, c := range cases {
		if got := c.task.Overdue(c.now, slack); got != c.want {
			t.Errorf("%s: Overdue = %v, want %v", c.name, got, c.want)
		}
	}
}
