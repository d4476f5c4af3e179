//go:build !linux

package supervise

// TrimResident is a no-op outside Linux.
func TrimResident() {}
