package supervise

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// utf8Locale reports whether the C library would run in a UTF-8 locale
// here (LC_ALL, else LC_CTYPE, else LANG), which is when coreutils quotes
// with ‘…’ instead of '…'. The C.UTF-8 locale is built into glibc; others
// count when their locale data is installed.
var utf8Locale = sync.OnceValue(func() bool {
	name := os.Getenv("LC_ALL")
	if name == "" {
		name = os.Getenv("LC_CTYPE")
	}
	if name == "" {
		name = os.Getenv("LANG")
	}
	lower := strings.ToLower(name)
	if !strings.Contains(lower, "utf-8") && !strings.Contains(lower, "utf8") {
		return false
	}
	if strings.HasPrefix(lower, "c.") {
		return true
	}
	for _, p := range []string{"/usr/lib/locale/" + name, "/usr/lib/locale/locale-archive"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
})

// Quote quotes a user-supplied value in a message as coreutils' Quote()
// does: ‘value’ in a UTF-8 locale, 'value' in the C locale. A value that
// would not print as itself (control characters, a quote, bytes the
// locale cannot show) is shown Go-quoted, its escapes visible. It is the
// one quoting rule of the watchdog's messages and the drop-in's.
func Quote(s string) string {
	utf8Ok := utf8Locale()
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\'' || r == utf8.RuneError || (r >= 0x80 && !utf8Ok) || (r >= 0x80 && r < 0xa0) {
			return strconv.Quote(s)
		}
	}
	if utf8Ok {
		return "\u2018" + s + "\u2019"
	}
	return "'" + s + "'"
}
