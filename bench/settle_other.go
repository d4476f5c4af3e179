//go:build !linux

package main

// settle is a no-op outside Linux (see settle_linux.go).
func settle(paths ...string) {}
