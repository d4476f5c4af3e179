package registry

import (
	"fmt"

	"github.com/watchdog-run/watchdog/supervise"
)

// MaxIDLen is the longest task id accepted.
const MaxIDLen = 64

// ValidateID checks a task id: 1–64 characters of letters, digits, '-',
// '_' and '.', starting with a letter or digit. Ids become container names,
// file-name parts and environment values, so nothing else is accepted.
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("invalid task id %s: it must not be empty", supervise.Quote(""))
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("invalid task id %s: longer than %d characters", quoteShort(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return fmt.Errorf("invalid task id %s: it must start with a letter or digit", quoteShort(id))
		}
		if !alnum && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("invalid task id %s: only letters, digits, '-', '_' and '.' are allowed", quoteShort(id))
		}
	}
	return nil
}

// quoteShort quotes s for an error message as every message quotes
// (supervise.Quote), cutting very long values.
func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return supervise.Quote(s)
}
