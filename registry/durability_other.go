//go:build !linux

package registry

// renameIsOrdered is false where it is not known: every write is fsynced.
func renameIsOrdered(dir string) bool { return false }
