package container

import (
	"context"
	"encoding/json"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// Usage is what list and check show for a container.
type Usage struct {
	Ref         string  `json:"ref"`
	Found       bool    `json:"found"`
	State       string  `json:"state,omitempty"`
	Running     bool    `json:"running"`
	CPUPercent  float64 `json:"cpu_percent"` // average over its life, of one CPU
	MemoryBytes int64   `json:"memory_bytes"`
}

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
