package launch

// The wire between the watchdog and watchdog-docker: what `watchdog-docker
// sweep` and `watchdog-docker usage` print as JSON, defined once for the
// side that writes it (launch/container) and the side that reads it (the
// watchdog's sweep, list and check), which must not link Docker.

// ExitNoEngine is watchdog-docker's status when no engine answers, so
// that the caller can decide whether that deserves a warning.
const ExitNoEngine = 3

// ContainerEvent is what a container sweep did, or would do, about one of
// the watchdog's containers.
type ContainerEvent struct {
	ContainerID   string `json:"container_id"`
	ContainerName string `json:"container_name"`
	TaskID        string `json:"id"`
	RunID         string `json:"run_id"`
	Registry      string `json:"registry,omitempty"`
	Action        string `json:"action"` // orphaned, overdue, leftover
	Detail        string `json:"detail"`
	Stopped       bool   `json:"stopped,omitempty"`
	Removed       bool   `json:"removed,omitempty"`
	Error         string `json:"error,omitempty"`
}

// ContainerSweep is `watchdog-docker sweep`'s report.
type ContainerSweep struct {
	Actions []ContainerEvent `json:"actions"`
}

// ContainerUsage is one container's state and use, as `watchdog-docker
// usage` reports it.
type ContainerUsage struct {
	Ref         string  `json:"ref"`
	Found       bool    `json:"found"`
	State       string  `json:"state,omitempty"`
	Running     bool    `json:"running"`
	CPUPercent  float64 `json:"cpu_percent"` // average over its life, of one CPU
	MemoryBytes int64   `json:"memory_bytes"`
}
