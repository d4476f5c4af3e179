// Package tasklog writes and reads a task's log: the command's stdout and
// stderr, interleaved in the order they arrived, in one plain file a
// person can read with cat or less (watchdog exec --log, watchdog logs).
//
// A log never grows past its cap (--log-max, DefaultMax) by more than one
// marker line. Past the cap it keeps the output's first half-cap (the
// head) and its newest bytes (the tail), and one marker line between them
// says how many bytes were dropped there:
//
//	...the head, the first ~max/2 bytes of output...
//	[watchdog: 123456 bytes of output dropped here, after its first 33554432 (--log-max 64MiB)]
//	...the tail, the newest bytes of output...
//
// The marker is padded with spaces to a width fixed when it is first
// written, so refreshing its numbers never moves a byte; it also says
// where in the output the kept tail begins (the head's length plus the
// bytes dropped), which is what lets a reader follow a log that is being
// cut under it without printing a byte twice or skipping one unannounced
// (Reader). format.go holds the marker's grammar, writer.go how a log is
// cut.
//
// The package does not decide where a task's log lives beyond PathFor,
// does not know the registry, and does not wait for a task to end: its
// callers (exec, logs) do.
package tasklog
