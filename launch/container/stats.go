package container

import (
	"context"
	"encoding/json"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/watchdog-run/watchdog/launch"
)

// Usage is one container's state and use (the wire format is launch's).
type Usage = launch.ContainerUsage

// Measure reads one container's state and, when it runs, its memory and
// CPU use from a one-shot stats sample.
func Measure(ctx context.Context, cli *client.Client, ref string) Usage {
	u := Usage{Ref: ref}
	info, err := cli.ContainerInspect(ctx, ref)
	if err != nil || info.State == nil {
		return u
	}
	u.Found, u.State, u.Running = true, info.State.Status, info.State.Running
	if !u.Running {
		return u
	}
	resp, err := cli.ContainerStatsOneShot(ctx, info.ID)
	if err != nil {
		return u
	}
	defer resp.Body.Close()
	var st container.StatsResponse
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return u
	}
	u.MemoryBytes = int64(st.MemoryStats.Usage)
	if cache, ok := st.MemoryStats.Stats["inactive_file"]; ok && cache < st.MemoryStats.Usage {
		u.MemoryBytes -= int64(cache) // as docker stats shows it
	}
	if started, err := time.Parse(time.RFC3339Nano, info.State.StartedAt); err == nil {
		if life := time.Since(started); life > 0 {
			u.CPUPercent = float64(st.CPUStats.CPUUsage.TotalUsage) / float64(life.Nanoseconds()) * 100
		}
	}
	return u
}
