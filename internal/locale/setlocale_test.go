package locale

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// compile builds locales with the system's localedef: into dir as
// directories, or with archive into dir's usr/lib/locale/locale-archive.
func compile(t *testing.T, dir string, archive bool, defs ...[3]string) {
	t.Helper()
	for _, d := range defs { // {source, charmap, name}
		args := []string{"-i", d[0], "-f", d[1], filepath.Join(dir, d[2])}
		check := filepath.Join(dir, d[2], "LC_NUMERIC")
		if archive {
			os.MkdirAll(filepath.Join(dir, "usr/lib/locale"), 0o755)
			args = []string{"--prefix=" + dir, "-i", d[0], "-f", d[1], d[2]}
			check = filepath.Join(dir, "usr/lib/locale/locale-archive")
		}
		// localedef exits 1 for mere warnings; what counts is the result.
		out, _ := exec.Command("localedef", args...).CombinedOutput()
		if _, err := os.Stat(check); err != nil {
			t.Fatalf("localedef %v did not build %s (install the locales package): %s", args, d[2], out)
		}
	}
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// useDefaultDir points the lookup's default directory (/usr/lib/locale)
// at dir for the rest of the test.
func useDefaultDir(t *testing.T, dir string) {
	old := defaultLocaleDir
	defaultLocaleDir = dir
	t.Cleanup(func() { defaultLocaleDir = old })
}

func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	compile(t, dir, false,
		[3]string{"de_DE", "UTF-8", "de_DE.UTF-8"},
		[3]string{"fr_FR", "ISO-8859-1", "fr_FR"},
		[3]string{"en_US", "UTF-8", "en_US.UTF-8"})
	// The default directory, searched after LOCPATH's, holds C.utf8 as
	// Debian's libc-bin installs it.
	sys := t.TempDir()
	compile(t, sys, false, [3]string{"C", "UTF-8", "C.utf8"})
	useDefaultDir(t, sys)
	de := Locale{UTF8: true, DecimalPoint: ","}
	en := Locale{UTF8: true, DecimalPoint: "."}
	for _, c := range []struct {
		name string
		vars map[string]string
		want Locale
	}{
		{"nothing set", map[string]string{}, C},
		{"LC_ALL", map[string]string{"LC_ALL": "de_DE.UTF-8"}, de},
		{"LC_ALL beats the rest", map[string]string{"LC_ALL": "en_US.UTF-8", "LC_NUMERIC": "de_DE.UTF-8", "LANG": "de_DE.UTF-8"}, en},
		{"LC_NUMERIC beats LANG", map[string]string{"LC_NUMERIC": "de_DE.UTF-8", "LANG": "en_US.UTF-8"}, de},
		{"empty counts as unset", map[string]string{"LC_ALL": "", "LC_NUMERIC": "", "LANG": "de_DE.UTF-8"}, de},
		{"one category missing: all C", map[string]string{"LC_TIME": "xx_YY.UTF-8", "LANG": "de_DE.UTF-8"}, C},
		{"POSIX", map[string]string{"LC_ALL": "POSIX"}, C},
		{"C.UTF-8 from the default directory", map[string]string{"LC_ALL": "C.UTF-8"}, en},
		{"C.utf8 too", map[string]string{"LC_ALL": "C.utf8"}, en},
		{"C.UTF-8 with a modifier falls back", map[string]string{"LC_ALL": "C.UTF-8@x"}, en},
		{"a territory falls back to C.utf8", map[string]string{"LC_ALL": "C_XX.utf8"}, en},
		{"c is not C", map[string]string{"LC_ALL": "c.utf8"}, C},
		{"LC_CTYPE and LC_NUMERIC apart", map[string]string{"LC_CTYPE": "de_DE.UTF-8", "LC_NUMERIC": "C.UTF-8", "LANG": "fr_FR"}, en},
		{"a modifier falls back", map[string]string{"LC_ALL": "de_DE.UTF-8@euro"}, de},
		{"the normalised name is not the directory's", map[string]string{"LC_ALL": "de_DE.utf8"}, C},
		{"a codeset the locale does not have", map[string]string{"LC_ALL": "fr_FR.UTF-8"}, C},
		{"a path is joined to each directory", map[string]string{"LC_ALL": filepath.Join(dir, "de_DE.UTF-8")}, C},
		{"a path joined to /", map[string]string{"LOCPATH": "/", "LC_ALL": filepath.Join(dir, "de_DE.UTF-8")}, de},
		{"a relative path", map[string]string{"LOCPATH": filepath.Dir(dir), "LC_ALL": filepath.Base(dir) + "/de_DE.UTF-8"}, C},
		{"a path with ..", map[string]string{"LOCPATH": "/", "LC_ALL": dir + "/../" + filepath.Base(dir) + "/de_DE.UTF-8"}, C},
	} {
		if _, ok := c.vars["LOCPATH"]; ok {
			if got := FromEnv(env(c.vars)); got != c.want {
				t.Errorf("%s: %v gives %+v, want %+v", c.name, c.vars, got, c.want)
			}
			continue
		}
		c.vars["LOCPATH"] = dir
		if got := FromEnv(env(c.vars)); got != c.want {
			t.Errorf("%s: %v gives %+v, want %+v", c.name, c.vars, got, c.want)
		}
	}
	fr := FromEnv(env(map[string]string{"LOCPATH": dir, "LC_ALL": "fr_FR"}))
	if fr.UTF8 || fr.DecimalPoint != "," || !fr.PrintableByte(0xe9) || fr.PrintableByte(0x85) || !fr.PrintableByte('a') {
		t.Errorf("fr_FR (ISO-8859-1): %+v, é printable %v, U+0085 printable %v", fr, fr.PrintableByte(0xe9), fr.PrintableByte(0x85))
	}
	if C.PrintableByte(0xe9) || de.PrintableByte(0xe9) {
		t.Error("C and UTF-8 locales must not print a lone high byte")
	}

	// Each variant is tried in every directory before the next variant:
	// de_DE.UTF-8 in the second beats the less specific de in the first.
	first, second := t.TempDir(), t.TempDir()
	os.Symlink(filepath.Join(dir, "en_US.UTF-8"), filepath.Join(first, "de"))
	os.Symlink(filepath.Join(dir, "de_DE.UTF-8"), filepath.Join(second, "de_DE.utf8"))
	for name, want := range map[string]Locale{"de_DE.UTF-8": de, "de_DE.utf8": de, "de_DE": en} {
		vars := map[string]string{"LOCPATH": first + ":" + second, "LC_ALL": name}
		if got := FromEnv(env(vars)); got != want {
			t.Errorf("%v: %+v, want %+v", vars, got, want)
		}
	}

	// C.UTF-8 is not built into glibc: without its files it is C.
	useDefaultDir(t, t.TempDir())
	if got := FromEnv(env(map[string]string{"LOCPATH": dir, "LC_ALL": "C.UTF-8"})); got != C {
		t.Errorf("C.UTF-8 not installed: %+v, want C", got)
	}
	// LOCPATH set: the archive is not consulted.
	defer func(p string) { archivePath = p }(archivePath)
	archiveDir := t.TempDir()
	compile(t, archiveDir, true, [3]string{"en_US", "UTF-8", "en_US.UTF-8"})
	archivePath = filepath.Join(archiveDir, "usr/lib/locale/locale-archive")
	if got := FromEnv(env(map[string]string{"LOCPATH": t.TempDir(), "LC_ALL": "en_US.UTF-8"})); got != C {
		t.Errorf("LOCPATH without the locale, the archive with it: %+v, want C", got)
	}
}

func TestArchive(t *testing.T) {
	dir := t.TempDir()
	compile(t, dir, true,
		[3]string{"de_DE", "UTF-8", "de_DE.UTF-8"},
		[3]string{"fr_FR", "ISO-8859-1", "fr_FR"})
	useDefaultDir(t, t.TempDir())
	defer func(p string) { archivePath = p }(archivePath)
	archivePath = filepath.Join(dir, "usr/lib/locale/locale-archive")
	for name, want := range map[string]Locale{
		"de_DE.UTF-8": {UTF8: true, DecimalPoint: ","},
		"de_DE.utf8":  {UTF8: true, DecimalPoint: ","},
		"de_DE.UTF8":  {UTF8: true, DecimalPoint: ","}, // no codeset check in the archive
		"de_DE":       C,                               // the archive holds only the exact (normalised) name
		"en_US.UTF-8": C,
	} {
		if got := FromEnv(env(map[string]string{"LANG": name})); got != want {
			t.Errorf("archive, LANG=%s: %+v, want %+v", name, got, want)
		}
	}
	if fr := FromEnv(env(map[string]string{"LANG": "fr_FR"})); fr.UTF8 || fr.DecimalPoint != "," || !fr.PrintableByte(0xe9) {
		t.Errorf("archive, LANG=fr_FR: %+v", fr)
	}

	// A damaged archive holds nothing and never panics.
	whole, err := os.ReadFile(archivePath)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(t.TempDir(), "locale-archive")
	archivePath = damaged
	for _, size := range []int{0, 3, 56, 4096, len(whole) / 2, len(whole) - 1} {
		os.WriteFile(damaged, whole[:size], 0o644)
		FromEnv(env(map[string]string{"LANG": "de_DE.UTF-8"}))
	}
	garbage := slices.Clone(whole)
	for i := 56; i < len(garbage); i += 7 {
		garbage[i] ^= 0xa5
	}
	os.WriteFile(damaged, garbage, 0o644)
	FromEnv(env(map[string]string{"LANG": "de_DE.UTF-8"}))
}

// The directory names glibc tries, most specific first (intl/l10nflist.c).
func TestVariants(t *testing.T) {
	for name, want := range map[string][]string{
		"de_DE.UTF-8":      {"de_DE.UTF-8", "de_DE.utf8", "de_DE", "de.UTF-8", "de.utf8", "de"},
		"de_DE.utf8":       {"de_DE.utf8", "de_DE", "de.utf8", "de"},
		"de_DE.UTF-8@euro": {"de_DE.UTF-8@euro", "de_DE.utf8@euro", "de_DE@euro", "de.UTF-8@euro", "de.utf8@euro", "de@euro", "de_DE.UTF-8", "de_DE.utf8", "de_DE", "de.UTF-8", "de.utf8", "de"},
		"fr":               {"fr"},
	} {
		if got := variants(name); !slices.Equal(got, want) {
			t.Errorf("variants(%q) = %q, want %q", name, got, want)
		}
	}
	for in, want := range map[string]string{"UTF-8": "utf8", "ISO-8859-1": "iso88591", "8859-1": "iso88591", "eucJP": "eucjp", "": ""} {
		if got := normalizeCodeset(in); got != want {
			t.Errorf("normalizeCodeset(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLocaleDirs(t *testing.T) {
	for locpath, want := range map[string][]string{
		"":        {"/usr/lib/locale"},
		"/a":      {"/a", "/usr/lib/locale"},
		":/a::/b": {"/a", "/b", "/usr/lib/locale"},
		"/a:":     {"/a", "", "/usr/lib/locale"}, // "" + "/de": the root
		"/a::":    {"/a", "", "/usr/lib/locale"},
		":":       {"", "/usr/lib/locale"},
	} {
		if got := localeDirs(locpath); !slices.Equal(got, want) {
			t.Errorf("localeDirs(%q) = %q, want %q", locpath, got, want)
		}
	}
}

// A FIFO or a device where locale data should be is no locale: the lookup
// neither blocks on it nor reads it.
func TestNotRegularFiles(t *testing.T) {
	dir := t.TempDir()
	compile(t, dir, false, [3]string{"de_DE", "UTF-8", "de_DE.UTF-8"})
	numeric := filepath.Join(dir, "de_DE.UTF-8", "LC_NUMERIC")
	os.Remove(numeric)
	if err := syscall.Mkfifo(numeric, 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "zero_ZZ"), 0o755)
	for _, cat := range categories {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, "zero_ZZ", cat.file)), 0o755)
		if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero_ZZ", cat.file)); err != nil {
			t.Fatal(err)
		}
	}
	useDefaultDir(t, t.TempDir())
	defer func(p string) { archivePath = p }(archivePath)
	archivePath = filepath.Join(t.TempDir(), "locale-archive")
	if err := syscall.Mkfifo(archivePath, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, vars := range []map[string]string{
		{"LOCPATH": dir, "LC_ALL": "de_DE.UTF-8"},
		{"LOCPATH": dir, "LC_ALL": "zero_ZZ"},
		{"LC_ALL": "de_DE.UTF-8"}, // the archive is the FIFO
	} {
		done := make(chan Locale, 1)
		go func() { done <- FromEnv(env(vars)) }()
		select {
		case got := <-done:
			if got != C {
				t.Errorf("%v: %+v, want C", vars, got)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: the lookup blocked", vars)
		}
	}
}

// GNU timeout, which calls setlocale(LC_ALL, ""), agrees: it quotes with
// ‘…’ exactly in a UTF-8 locale, and reads "10,5" exactly where the
// decimal point is a comma (else it fails with 125).
func TestAgainstGNU(t *testing.T) {
	dir := t.TempDir()
	compile(t, dir, false,
		[3]string{"de_DE", "UTF-8", "de_DE.UTF-8"},
		[3]string{"fr_FR", "ISO-8859-1", "fr_FR"},
		[3]string{"en_US", "UTF-8", "en_US.UTF-8"})
	first := t.TempDir()
	os.Symlink(filepath.Join(dir, "en_US.UTF-8"), filepath.Join(first, "de"))
	for _, vars := range []map[string]string{
		{"LC_ALL": "de_DE.UTF-8"},
		{"LC_ALL": "de_DE.utf8"},
		{"LC_ALL": "de_DE.UTF-8@euro"},
		{"LC_ALL": "fr_FR"},
		{"LC_ALL": "fr_FR.ISO-8859-1"},
		{"LC_ALL": "fr_FR.UTF-8"},
		{"LC_NUMERIC": "de_DE.UTF-8", "LANG": "en_US.UTF-8"},
		{"LC_NUMERIC": "de_DE.UTF-8", "LC_TIME": "xx_YY", "LANG": "en_US.UTF-8"},
		{"LC_ALL": "", "LANG": "de_DE.UTF-8"},
		{"LC_ALL": "C.UTF-8"},
		{"LC_ALL": "C.UTF-8@x"},
		{"LC_ALL": "C_XX.utf8"},
		{"LC_ALL": "POSIX"},
		{"LC_ALL": dir + "/de_DE.UTF-8", "LOCPATH": "/"},
		{"LC_ALL": "de_DE.UTF-8/"},
		{"LC_ALL": "de_DE.UTF-8", "LOCPATH": first + ":" + dir},
		{"LC_ALL": "de", "LOCPATH": first + ":" + dir},
	} {
		if _, ok := vars["LOCPATH"]; !ok {
			vars["LOCPATH"] = dir
		}
		want := FromEnv(env(vars))
		environ := []string{"PATH=" + os.Getenv("PATH"), "LANGUAGE=en"} // untranslated messages
		for k, v := range vars {
			environ = append(environ, k+"="+v)
		}
		quote := exec.Command("/usr/bin/timeout", "5\xe9", "true")
		quote.Env = environ
		out, _ := quote.CombinedOutput()
		comma := exec.Command("/usr/bin/timeout", "10,5", "true")
		comma.Env = environ
		err := comma.Run()
		if utf8 := strings.Contains(string(out), "‘"); utf8 != want.UTF8 {
			t.Errorf("%v: GNU timeout says %q, FromEnv %+v", vars, out, want)
		}
		if dp := map[bool]string{true: ",", false: "."}[err == nil]; dp != want.DecimalPoint {
			t.Errorf("%v: GNU timeout 10,5: %v, FromEnv %+v", vars, err, want)
		}
	}
}
