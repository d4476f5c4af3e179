package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// testLocales compiles the locales the locale cases need into a fresh
// directory for LOCPATH, with the system's localedef (glibc's libc-bin)
// and locale sources (Debian's locales package).
func testLocales(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, def := range map[string][2]string{
		"de_DE.UTF-8": {"de_DE", "UTF-8"}, // decimal comma, UTF-8
		"fr_FR":       {"fr_FR", "ISO-8859-1"},
		"en_US.UTF-8": {"en_US", "UTF-8"},
	} {
		// localedef exits 1 for mere warnings; what counts is the result.
		out, _ := exec.Command("localedef", "-i", def[0], "-f", def[1], filepath.Join(dir, name)).CombinedOutput()
		if _, err := os.Stat(filepath.Join(dir, name, "LC_NUMERIC")); err != nil {
			t.Fatalf("cannot build the %s locale (install the locales package for localedef's sources): %s", name, out)
		}
	}
	return dir
}

// GNU timeout reads durations in the locale's decimal point as well as in
// C's, and quotes with ‘…’ only where setlocale(LC_ALL, "") found a UTF-8
// locale: LOCPATH alone is searched when set, and one category that cannot
// be loaded leaves everything in C.
func TestTimeoutDropInLocales(t *testing.T) {
	locpath := testLocales(t)
	cases := []string{
		`0,2 sleep 5`, `0,5 true`, `0.5 true`, `-k 0,1 0,1 sleep 5`, `1,5,3 true`, `1,5s true`, `0x1,8 true`,
		`',5' true`, `'1,' true`, `1.5,3 true`, `"$(printf '5\351')" true`, `10,001 sleep 0,001`,
	}
	for _, env := range [][]string{
		{"LC_ALL=de_DE.UTF-8"},
		{"LC_ALL=de_DE.utf8"},
		{"LC_ALL=fr_FR"},
		{"LC_ALL=en_US.UTF-8"},
		{"LC_ALL=", "LC_NUMERIC=de_DE.UTF-8", "LANG=en_US.UTF-8"},
		{"LC_ALL=", "LC_NUMERIC=de_DE.UTF-8", "LC_TIME=xx_YY.UTF-8", "LANG=en_US.UTF-8"},
		{"LC_ALL=xx_YY.UTF-8"},
	} {
		t.Run(env[len(env)-1], func(t *testing.T) {
			// LANGUAGE=en: GNU's messages untranslated, as the drop-in's
			// are (a documented difference); the locale still decides
			// the quotes and the decimal point.
			runDifferential(t, cases, append([]string{"LANGUAGE=en", "LOCPATH=" + locpath}, env...))
		})
	}
	// Without LOCPATH a locale that is not installed is C; LOCPATH
	// elsewhere is searched, then /usr/lib/locale, never the archive.
	t.Run("not installed", func(t *testing.T) {
		runDifferential(t, cases, []string{"LANGUAGE=en", "LOCPATH=", "LC_ALL=de_DE.UTF-8"})
	})
	t.Run("LOCPATH elsewhere", func(t *testing.T) {
		runDifferential(t, cases, []string{"LANGUAGE=en", "LOCPATH=" + t.TempDir(), "LC_ALL=de_DE.UTF-8"})
	})
}
