package supervise

import (
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
