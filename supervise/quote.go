package supervise

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/watchdog-run/watchdog/internal/locale"
)

// quoteLocale is the locale the C library's setlocale(LC_ALL, "") would
// choose here: in UTF-8 coreutils quotes with ‘…’ instead of '…' (a
// variable for tests).
var quoteLocale = locale.Current

// Quote quotes a user-supplied value in a message as coreutils' quote()
// does, the one quoting rule of the watchdog's messages and the drop-in's
// (gnulib quotearg, locale_quoting_style): ‘value’ in a UTF-8 locale,
// 'value' in the C locale, with C escapes for the control characters that
// have one (\t, \n, ...), a backslash before a backslash and before the
// closing quote, and every byte of what the locale cannot print in octal
// (\351; a single-byte locale such as ISO-8859-1 prints its letters). In a
// UTF-8 locale, glibc prints any assigned character except
// the C0 and C1 controls and the line and paragraph separators; bytes
// that are not UTF-8 (surrogates and overlong forms included) are
// escaped one by one.
func Quote(s string) string {
	loc := quoteLocale()
	utf8Ok := loc.UTF8
	left, right := "'", "'"
	if utf8Ok {
		left, right = "\u2018", "\u2019"
	}
	var b strings.Builder
	b.WriteString(left)
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], right) {
			b.WriteString("\\" + right)
			i += len(right)
			continue
		}
		c := s[i]
		if esc := strings.IndexByte("\a\b\f\n\r\t\v\\", c); esc >= 0 {
			b.WriteByte('\\')
			b.WriteByte("abfnrtv\\"[esc])
			i++
			continue
		}
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			i++
			continue
		}
		n := 1
		printable := !utf8Ok && loc.PrintableByte(c) // ISO-8859-1's é
		if utf8Ok && c >= 0x80 {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				n, printable = size, glibcPrintable(r)
			}
		}
		if printable {
			b.WriteString(s[i : i+n])
		} else {
			for _, c := range []byte(s[i : i+n]) {
				fmt.Fprintf(&b, "\\%03o", c)
			}
		}
		i += n
	}
	b.WriteString(right)
	return b.String()
}

// glibcPrintable is iswprint in glibc's UTF-8 locales for a non-ASCII
// character: assigned (by Go's Unicode tables), not a C1 control, not
// U+2028 or U+2029. Private-use characters print; noncharacters do not.
func glibcPrintable(r rune) bool {
	if r < 0xa0 || r == 0x2028 || r == 0x2029 {
		return false
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs, unicode.Cf, unicode.Co)
}
