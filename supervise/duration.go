package supervise

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/watchdog-run/watchdog/internal/locale"
)

// MaxDuration stands for "no practical limit": coreutils accepts durations
// far beyond what a timer can hold and simply never fires them.
const MaxDuration = time.Duration(math.MaxInt64)

// ParseCoreutilsDuration parses a duration exactly as GNU coreutils
// `timeout` does: a non-negative floating-point number (as strtod reads it,
// leading blanks, exponents, hex and "inf" included, with the C locale's
// decimal point or the user's locale's) with an optional single suffix s,
// m, h or d. Positive values round up to at least a nanosecond; values too
// large for a time.Duration become MaxDuration.
func ParseCoreutilsDuration(s string) (time.Duration, error) {
	// The whole string first: "0x1d" is a hexadecimal number, not a day.
	v, ok := clStrtod(s)
	if !ok && len(s) > 0 {
		var unit float64
		switch s[len(s)-1] {
		case 's':
			unit = 1
		case 'm':
			unit = 60
		case 'h':
			unit = 3600
		case 'd':
			unit = 86400
		}
		if unit != 0 {
			v, ok = clStrtod(s[:len(s)-1])
			v *= unit
		}
	}
	if !ok || !(v >= 0) {
		return 0, fmt.Errorf("invalid time interval %s", Quote(s))
	}
	return floatSeconds(v), nil
}

// ParseDuration accepts coreutils syntax ("10", "1.5", ".1", "2m", "1d")
// and Go syntax ("1h30m", "500ms"). Zero means no deadline.
func ParseDuration(s string) (time.Duration, error) {
	if d, err := ParseCoreutilsDuration(s); err == nil {
		return d, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %s (use e.g. 10, 1.5, 30s, 10m, 2h, 1d or 1h30m)", Quote(s))
	}
	return d, nil
}

func floatSeconds(v float64) time.Duration {
	ns := v * 1e9
	if ns >= float64(math.MaxInt64) || math.IsInf(v, 1) {
		return MaxDuration
	}
	return time.Duration(math.Ceil(ns))
}

// clStrtod reads the whole of s as gnulib's cl_strtod, which timeout
// uses, would: as a number in the C locale or in the user's (LC_NUMERIC's
// decimal point, "0,5" in de_DE). The user's locale is read only when C's
// reading fails on a string with a character no C number has ("1m" is C's
// 1 and a suffix), so a plain duration never costs a look at locale files.
func clStrtod(s string) (float64, bool) {
	if v, ok := strtod(s); ok {
		return v, true
	}
	if !strings.ContainsFunc(s, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || strings.ContainsRune(".+- \t\n\v\f\r", r))
	}) {
		return 0, false
	}
	// strtod in a locale stops at C's ".", so a number with one is C's or
	// nobody's.
	dp := decimalPoint()
	if dp == "." || dp == "" || !strings.Contains(s, dp) || strings.Contains(s, ".") {
		return 0, false
	}
	return strtod(strings.Replace(s, dp, ".", 1))
}

// decimalPoint is LC_NUMERIC's decimal point (a variable for tests).
var decimalPoint = func() string { return locale.Current().DecimalPoint }

// strtod reads the whole of s as C's strtod would (after leading blanks):
// decimal or hexadecimal floating point, "inf", "infinity" or "nan". A
// value out of range counts as parsed, as coreutils accepts ERANGE.
func strtod(s string) (float64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if s == "" {
		return 0, false
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, false
	}
	if body == "" {
		return 0, false
	}
	// Go's ParseFloat accepts underscores and "0x" without an exponent only
	// in some forms; strtod never accepts underscores.
	if strings.ContainsRune(body, '_') {
		return 0, false
	}
	lower := strings.ToLower(body)
	switch lower {
	case "inf", "infinity":
		return math.Inf(sign(s)), true
	case "nan":
		return math.NaN(), true
	}
	if strings.HasPrefix(lower, "nan(") || strings.HasPrefix(lower, "in") {
		return 0, false
	}
	if strings.HasPrefix(lower, "0x") && !strings.ContainsAny(lower, "p") {
		// strtod accepts hex floats without an exponent; ParseFloat wants one.
		s += "p0"
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

func sign(s string) int {
	if strings.HasPrefix(s, "-") {
		return -1
	}
	return 1
}
