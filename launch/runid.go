package launch

import (
	"encoding/hex"

	"github.com/watchdog-run/watchdog/internal/random"
)

// NewRunID returns a random (version 4) UUID in its usual text form. It
// reads the kernel's getrandom directly: the uuid and crypto/rand packages
// would link the net package and the FIPS crypto module into every start of
// the exec path for sixteen random bytes.
func NewRunID() string {
	var b [16]byte
	random.Bytes(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
