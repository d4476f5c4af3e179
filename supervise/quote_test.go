package supervise

import "testing"

func TestQuote(t *testing.T) {
	cases := []struct {
		locale, in, want string
	}{
		{"C", "sleep", "'sleep'"},
		{"C.UTF-8", "sleep", "\u2018sleep\u2019"},
		{"C.UTF-8", "héllo", "\u2018héllo\u2019"},
		{"C", "héllo", `"héllo"`},
		{"C.UTF-8", "a\nb", `"a\nb"`},
		{"C.UTF-8", "it's", `"it's"`},
		{"C.UTF-8", "bad\xff", `"bad\xff"`},
		{"C", "", "''"},
	}
	defer func(f func() bool) { utf8Locale = f }(utf8Locale)
	for _, c := range cases {
		utf8Locale = func() bool { return c.locale == "C.UTF-8" }
		if got := Quote(c.in); got != c.want {
			t.Errorf("LC_ALL=%s Quote(%q) = %s, want %s", c.locale, c.in, got, c.want)
		}
	}
}
