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
	left, right := "'", "'"
	if loc.UTF8 {
		left, right = "\u2018", "\u2019"
	}
	var b strings.Builder
	b.WriteString(left)
	escape(&b, s, loc, right)
	b.WriteString(right)
	return b.String()
}

// Escape is Quote without the quotes: the value as the terminal may show
// it, for human output (tables, check, rehydrate, sweep's report). The
// same rule, byte for byte, as between Quote's quotes (gnulib's
// escape_quoting_style, ls -b): C escapes for \a \b \f \n \r \t \v, a
// doubled backslash, every other byte the locale cannot print in octal
// (ESC is \033, DEL \177); in a UTF-8 locale the printable characters
// as they are. Nothing it returns moves the cursor, changes colours or
// starts a line, and a value reads back unambiguously. A value with
// nothing to escape is returned as it is.
func Escape(s string) string {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\'
	}
	if plain {
		return s
	}
	var b strings.Builder
	escape(&b, s, quoteLocale(), "")
	return b.String()
}

// escape writes s to b as Quote shows it between its quotes; right, the
// closing quote (none for Escape), gets a backslash before it.
func escape(b *strings.Builder, s string, loc locale.Locale, right string) {
	utf8Ok := loc.UTF8
	for i := 0; i < len(s); {
		if right != "" && strings.HasPrefix(s[i:], right) {
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
				fmt.Fprintf(b, "\\%03o", c)
			}
		}
		i += n
	}
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
