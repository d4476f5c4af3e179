//go:build !phasetrace

// Package phase marks the moments of a watchdog run (start of main, fork,
// end record...) so that where its time goes can be measured. In a normal
// build its functions are empty and inlined away; built with
// -tags phasetrace they record each mark's time since the process started
// and Dump appends them to the file $WATCHDOG_PHASES (go run ./bench
// -phases averages them over many runs).
package phase

// Mark records that the run reached the named point.
func Mark(name string) {}

// Dump writes the marks out.
func Dump() {}
