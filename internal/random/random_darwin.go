package random

import "crypto/rand"

// Bytes fills b with random bytes.
func Bytes(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("watchdog: no randomness: " + err.Error())
	}
}
