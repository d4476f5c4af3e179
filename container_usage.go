package main

import (
	"encoding/json"
	"os/exec"

	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
)

// fillContainerUsage asks watchdog-docker, once for all running docker
// tasks, whether their containers run and what they use. Without the helper
// or an engine the figures stay empty: list and check still work.
func fillContainerUsage(views []taskView) {
	var refs []string
	at := map[string]int{}
	for i, v := range views {
		if v.Mode != registry.ModeDocker || v.Status != registry.StatusRunning {
			continue
		}
		ref := v.ContainerID
		if ref == "" {
			ref = v.ContainerName
		}
		if ref == "" {
			continue
		}
		at[ref] = i
		refs = append(refs, ref)
	}
	if len(refs) == 0 {
		return
	}
	helper, err := dockerHelper()
	if err != nil {
		return
	}
	out, err := exec.Command(helper, append([]string{"usage"}, refs...)...).Output()
	if err != nil {
		return
	}
	var us []launch.ContainerUsage
	if json.Unmarshal(out, &us) != nil {
		return
	}
	for _, u := range us {
		i, ok := at[u.Ref]
		if !ok {
			continue
		}
		v := &views[i]
		v.Alive, v.CPUPercent, v.MemoryBytes = u.Running, round1(u.CPUPercent), u.MemoryBytes
		v.containerMeasured = true
		if u.Running {
			v.ProcessCount = 1 // the container, as one
		}
	}
}
