// Package launch is a task's life, written once for every way a task
// starts: `watchdog exec`, the `timeout` drop-in, PATH shims and (with a
// container starter from launch/container) `watchdog docker-run`. It
// validates, checks the id, starts the task and records it in one registry
// update, supervises it through package supervise, and records the end. It
// also holds sweep's engine, and turns registry entries into the identity
// terms package supervise judges processes by.
//
// Containers are handled by launch/container, which the native path never
// imports.
package launch
