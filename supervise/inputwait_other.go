//go:build !linux

package supervise

// InputWaits reports nothing outside Linux: which system call a process
// sleeps in, and on which file, is read from /proc.
func InputWaits(pids []int) []InputWait { return nil }
