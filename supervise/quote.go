package supervise

import (
	"os"
	"strings"
	"sync"
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

// LocaleQuote quotes a value as coreutils' quote() does in the C or a
// UTF-8 locale.
func LocaleQuote(s string) string {
	if utf8Locale() {
		return "\u2018" + s + "\u2019"
	}
	return "'" + s + "'"
}
