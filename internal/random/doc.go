// Package random gives the kernel's random bytes without linking
// crypto/rand (and with it the FIPS crypto module) into the exec path.
package random
