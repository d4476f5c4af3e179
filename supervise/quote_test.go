package supervise

import (
	"strings"
	"testing"

	"github.com/watchdog-run/watchdog/internal/locale"
)

// Quote's outputs are coreutils 9.1's (timeout's "invalid time
// interval" message), observed with LC_ALL=C and LC_ALL=C.UTF-8.
func TestQuote(t *testing.T) {
	defer func(f func() locale.Locale) { quoteLocale = f }(quoteLocale)
	cases := []struct{ in, c, utf8 string }{
		{"x", `'x'`, "‘x’"},
		{"5\351", `'5\351'`, `‘5\351’`},
		{"5'x", `'5\'x'`, "‘5'x’"},
		{"5’x", `'5\342\200\231x'`, `‘5\’x’`},
		{"5\tx\001", `'5\tx\001'`, `‘5\tx\001’`},
		{`5\x`, `'5\\x'`, `‘5\\x’`},
		{"5\177", `'5\177'`, `‘5\177’`},
		{"é", `'\303\251'`, "‘é’"},
		{"\u0085", `'\302\205'`, `‘\302\205’`},
		{"\u2028", `'\342\200\250'`, `‘\342\200\250’`},
		{"\u0378", `'\315\270'`, `‘\315\270’`},
		{"\uE000", `'\356\200\200'`, "‘\uE000’"},
		{"\uFFFE", `'\357\277\276'`, `‘\357\277\276’`},
		{"5\342\200x", `'5\342\200x'`, `‘5\342\200x’`},
		{"\355\240\200", `'\355\240\200'`, `‘\355\240\200’`},
	}
	for _, loc := range []string{"C", "C.UTF-8"} {
		quoteLocale = func() locale.Locale { return locale.Locale{UTF8: loc != "C", DecimalPoint: "."} }
		for _, c := range cases {
			want := c.c
			if loc != "C" {
				want = c.utf8
			}
			if got := Quote(c.in); got != want {
				t.Errorf("LC_ALL=%s Quote(%q) = %s, want %s", loc, c.in, got, want)
			}
		}
	}
}

// Escape is what Quote writes between its quotes, less the backslash
// before a closing quote: one rule for messages and for human output.
func TestEscape(t *testing.T) {
	defer func(f func() locale.Locale) { quoteLocale = f }(quoteLocale)
	cases := []struct{ in, c, utf8 string }{
		{"plain text 1.5", "plain text 1.5", "plain text 1.5"},
		{"", "", ""},
		{"echo \x1b[31mred", `echo \033[31mred`, `echo \033[31mred`},
		{"a\nb\tc\rd", `a\nb\tc\rd`, `a\nb\tc\rd`},
		{"\a\b\f\v", `\a\b\f\v`, `\a\b\f\v`},
		{`c:\dir`, `c:\\dir`, `c:\\dir`},
		{"x\000y\177", `x\000y\177`, `x\000y\177`},
		{"x\x1b]0;title\x07", `x\033]0;title\a`, `x\033]0;title\a`},
		{"café", `caf\303\251`, "café"},
		{"\u009b31m", `\302\23331m`, `\302\23331m`}, // the C1 CSI
		{"\u2028", `\342\200\250`, `\342\200\250`},
		{"it's ‘q’", `it's \342\200\230q\342\200\231`, "it's ‘q’"},
		{"5\342\200x", `5\342\200x`, `5\342\200x`},
	}
	for _, loc := range []string{"C", "C.UTF-8"} {
		l := locale.Locale{UTF8: loc != "C", DecimalPoint: "."}
		quoteLocale = func() locale.Locale { return l }
		for _, c := range cases {
			want := c.c
			if l.UTF8 {
				want = c.utf8
			}
			if got := Escape(c.in); got != want {
				t.Errorf("LC_ALL=%s Escape(%q) = %s, want %s", loc, c.in, got, want)
			}
			// Between Quote's quotes, the same bytes (when the value
			// holds no closing quote, which Quote escapes).
			left, right := "'", "'"
			if l.UTF8 {
				left, right = "‘", "’"
			}
			if !strings.Contains(c.in, right) {
				if got, want := Quote(c.in), left+Escape(c.in)+right; got != want {
					t.Errorf("LC_ALL=%s Quote(%q) = %s, Escape between quotes %s", loc, c.in, got, want)
				}
			}
		}
	}
}
