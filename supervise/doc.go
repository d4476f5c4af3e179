// Package supervise is the process layer: it resolves a command as a shell
// would and starts it in a new session with the task's identity tags
// (spawn.go), then watches it: the deadline, signal forwarding, the
// TERM → grace → KILL escalation, exit statuses in the coreutils `timeout`
// convention, containment of the whole process tree, and sweep.
//
// Before any signal, a process's identity is confirmed: its pid together
// with its start time read from the kernel, and on Linux the signal goes
// through a pidfd opened before that check, so a recycled pid is never hit.
// Nothing here ever signals pid ≤ 1, a process group ≤ 1, the watchdog
// itself, its own process group or any of its ancestors.
//
// Containment beyond the process group (the child subreaper, finding
// processes by their run tag) is Linux-only. On macOS the package builds,
// and the process group of the command is what is contained.
//
// The package imports neither the registry nor package launch: callers
// describe a recorded task to it as a Recorded value.
package supervise
