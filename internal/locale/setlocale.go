// Package locale answers, without cgo, what the C library's
// setlocale(LC_ALL, "") would select for this process — as far as the
// timeout drop-in needs it: whether the codeset is UTF-8 (GNU timeout then
// quotes with ‘…’) and the decimal point (it reads "0,5" in de_DE).
//
// It follows glibc 2.36's lookup: the name of each category from LC_ALL,
// LC_<CATEGORY> or LANG; only C and POSIX built in (C.UTF-8 is an installed
// locale, /usr/lib/locale/C.utf8 from Debian's libc-bin); with LOCPATH set,
// its directories and then the directory /usr/lib/locale, never the
// archive; otherwise /usr/lib/locale/locale-archive, then that directory;
// in the directories, the name's variants (de_DE.UTF-8, de_DE.utf8, de_DE,
// ...), each tried in every directory before the next; a name with a slash
// must start with one and is then joined to each directory like any other
// ("/x/de" is DIR//x/de); a locale whose codeset differs from the one its
// name asks for is refused; and if any category cannot be loaded,
// setlocale fails and the whole process stays in C.
//
// Not followed: the aliases of locale.alias, and gconv's codeset aliases
// (codesets are compared normalised: fr_FR.LATIN1 is refused here, and
// fr_FR.8859-1 taken, where glibc does the opposite).
package locale

import (
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"sync"
)

// Locale is what setlocale(LC_ALL, "") selects here, as far as the
// watchdog needs it.
type Locale struct {
	UTF8         bool   // LC_CTYPE's codeset is UTF-8
	DecimalPoint string // LC_NUMERIC's decimal point ("." in C)
	// printHigh has a bit for each byte from 0x80 that LC_CTYPE calls
	// printable (ISO-8859-1's é); none in C and in UTF-8, where such a
	// byte is only part of a character.
	printHigh [16]byte
}

// PrintableByte is isprint(b) in the locale's single-byte character set.
func (l Locale) PrintableByte(b byte) bool {
	if b < 0x80 {
		return b >= 0x20 && b < 0x7f
	}
	return l.printHigh[(b-0x80)/8]&(1<<(b%8)) != 0
}

// C is the locale a program starts in, and the one it stays in when
// setlocale fails.
var C = Locale{DecimalPoint: "."}

// Current is the Locale of this process's environment, computed on first
// use only.
var Current = sync.OnceValue(func() Locale { return FromEnv(os.Getenv) })

// The categories setlocale(LC_ALL, "") loads, by glibc's numbering (6 is
// LC_ALL itself). LC_MESSAGES' data lives in a file of its own directory.
var categories = []struct {
	num  int
	name string
	file string
}{
	{0, "LC_CTYPE", "LC_CTYPE"}, {1, "LC_NUMERIC", "LC_NUMERIC"}, {2, "LC_TIME", "LC_TIME"},
	{3, "LC_COLLATE", "LC_COLLATE"}, {4, "LC_MONETARY", "LC_MONETARY"},
	{5, "LC_MESSAGES", "LC_MESSAGES/SYS_LC_MESSAGES"}, {7, "LC_PAPER", "LC_PAPER"},
	{8, "LC_NAME", "LC_NAME"}, {9, "LC_ADDRESS", "LC_ADDRESS"}, {10, "LC_TELEPHONE", "LC_TELEPHONE"},
	{11, "LC_MEASUREMENT", "LC_MEASUREMENT"}, {12, "LC_IDENTIFICATION", "LC_IDENTIFICATION"},
}

const (
	lcCtype   = 0
	lcNumeric = 1
	// Item indexes in a category's data (glibc's langinfo.h).
	itemDecimalPoint = 0  // LC_NUMERIC's RADIXCHAR
	itemCodeset      = 14 // LC_CTYPE's _NL_CTYPE_CODESET_NAME
)

// archivePath is glibc's locale archive (a variable for tests).
var archivePath = "/usr/lib/locale/locale-archive"

// defaultLocaleDir is searched after LOCPATH or the archive (a variable
// for tests).
var defaultLocaleDir = "/usr/lib/locale"

// FromEnv is the Locale setlocale(LC_ALL, "") selects in the environment
// getenv reads.
func FromEnv(getenv func(string) string) Locale {
	if runtime.GOOS != "linux" {
		// Not glibc: its data is in another format. Believe the name.
		name := categoryName(getenv, "LC_CTYPE")
		return Locale{UTF8: normalizeCodeset(explode(name).codeset) == "utf8", DecimalPoint: "."}
	}
	l := lookup{locpath: getenv("LOCPATH")}
	result := C
	for _, cat := range categories {
		name := categoryName(getenv, cat.name)
		data, ok := l.load(name, cat.num, cat.file, cat.num == lcCtype || cat.num == lcNumeric)
		if !ok {
			return C // one category fails: setlocale fails, all stays C
		}
		switch cat.num {
		case lcCtype:
			result.UTF8 = normalizeCodeset(item(data, itemCodeset)) == "utf8"
			if !result.UTF8 {
				result.printHigh = printableHigh(data)
			}
		case lcNumeric:
			if dp := item(data, itemDecimalPoint); dp != "" {
				result.DecimalPoint = dp
			}
		}
	}
	return result
}

// categoryName is the locale a category is set from: LC_ALL, else its own
// variable, else LANG, else C; an empty value counts as unset.
func categoryName(getenv func(string) string, category string) string {
	for _, v := range []string{"LC_ALL", category, "LANG"} {
		if name := getenv(v); name != "" {
			return name
		}
	}
	return "C"
}

// lookup finds locale data; archive is read once, when first needed.
type lookup struct {
	locpath     string // LOCPATH; "" for the archive and the default directory
	archive     []byte
	archiveRead bool
	codesets    map[string]string // a locale directory's LC_CTYPE codeset
}

// load returns the category's data for name (read only when asked for:
// the rest need only exist), nil for C and POSIX; ok false when glibc
// would fail to load it.
func (l *lookup) load(name string, num int, file string, read bool) (data []byte, ok bool) {
	switch {
	case name == "C" || name == "POSIX":
		return nil, true
	case !validName(name):
		return nil, false
	}
	if l.locpath == "" {
		if data := l.fromArchive(name, num); data != nil {
			return data, true // found by its normalised name: no codeset check
		}
	}
	dirs := localeDirs(l.locpath)
	for _, variant := range variants(name) {
		for _, dir := range dirs {
			path := dir + "/" + variant
			f, _ := openRegular(path + "/" + file)
			if f == nil {
				continue
			}
			f.Close()
			if read {
				data, _ = readFile(path + "/" + file)
			}
			return data, l.codesetMatches(path, name)
		}
	}
	return nil, false
}

// codesetMatches: glibc refuses a locale found for a name whose codeset
// is not the locale's own (fr_FR.UTF-8 found as the ISO-8859-1 fr_FR).
// glibc compares through gconv's aliases; normalised names come close.
// Each locale's LC_CTYPE is read once, whatever the number of categories.
func (l *lookup) codesetMatches(path, name string) bool {
	codeset := explode(name).codeset
	if codeset == "" {
		return true
	}
	own, seen := l.codesets[path]
	if !seen {
		ctype, _ := readFile(path + "/LC_CTYPE")
		own = item(ctype, itemCodeset)
		if l.codesets == nil {
			l.codesets = map[string]string{}
		}
		l.codesets[path] = own
	}
	return normalizeCodeset(own) == normalizeCodeset(codeset)
}

// validName is glibc's valid_locale_name: at most 255 bytes, no ".."
// component, and a slash only in a name that starts with one.
func validName(name string) bool {
	switch {
	case len(name) > 255, name == "..", strings.Contains(name, "/../"),
		strings.HasPrefix(name, "../"), strings.HasSuffix(name, "/.."):
		return false
	}
	return !strings.Contains(name, "/") || name[0] == '/'
}

// localeDirs are the directories searched, in order: LOCPATH's, empty
// entries dropped except a trailing one (glibc's argz quirk: it names the
// root), then the default, which glibc appends to LOCPATH too.
func localeDirs(locpath string) []string {
	var dirs []string
	for _, dir := range strings.Split(locpath, ":") {
		if dir != "" {
			dirs = append(dirs, dir)
		}
	}
	if strings.HasSuffix(locpath, ":") {
		dirs = append(dirs, "")
	}
	return append(dirs, defaultLocaleDir)
}

// parts are a locale name's language[_territory][.codeset][@modifier].
type parts struct{ language, territory, codeset, modifier string }

func explode(name string) parts {
	var p parts
	name, p.modifier, _ = strings.Cut(name, "@")
	name, p.codeset, _ = strings.Cut(name, ".")
	p.language, p.territory, _ = strings.Cut(name, "_")
	return p
}

// variants are the directory names glibc tries for a locale name, most
// specific first (intl/l10nflist.c): every combination of the parts the
// name has, never the codeset and its normalised form together.
func variants(name string) []string {
	p := explode(name)
	norm := normalizeCodeset(p.codeset)
	const (
		withNorm = 1 << iota
		withCodeset
		withTerritory
		withModifier
	)
	mask := 0
	if p.territory != "" {
		mask |= withTerritory
	}
	if p.codeset != "" {
		mask |= withCodeset
		if norm != p.codeset {
			mask |= withNorm
		}
	}
	if p.modifier != "" {
		mask |= withModifier
	}
	var out []string
	for m := mask; m >= 0; m-- {
		if m&^mask != 0 || (m&withCodeset != 0 && m&withNorm != 0) {
			continue
		}
		v := p.language
		if m&withTerritory != 0 {
			v += "_" + p.territory
		}
		if m&withCodeset != 0 {
			v += "." + p.codeset
		}
		if m&withNorm != 0 {
			v += "." + norm
		}
		if m&withModifier != 0 {
			v += "@" + p.modifier
		}
		out = append(out, v)
	}
	return out
}

// normalizeCodeset is glibc's _nl_normalize_codeset: letters lower-cased,
// digits kept, the rest dropped; "iso" in front of an all-digit result
// ("UTF-8" → "utf8", "8859-1" → "iso88591").
func normalizeCodeset(codeset string) string {
	var b strings.Builder
	digitsOnly := true
	for _, c := range []byte(codeset) {
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
			digitsOnly = false
		case c >= 'a' && c <= 'z':
			b.WriteByte(c)
			digitsOnly = false
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		}
	}
	if digitsOnly && b.Len() > 0 {
		return "iso" + b.String()
	}
	return b.String()
}

// printableHigh reads LC_CTYPE's class table (item 0: 384 uint16, for
// the values -128 to 255) for the bytes from 0x80 that have glibc's print
// bit (_ISbit(6) in native order).
func printableHigh(ctype []byte) (bits [16]byte) {
	const itemClass, entries, isPrint = 0, 384, 1 << 6 << 8
	count, ok := u32(ctype, 4)
	off, ok2 := u32(ctype, 8+4*itemClass)
	if !ok || !ok2 || count == 0 || int64(off)+entries*2 > int64(len(ctype)) {
		return bits
	}
	for b := 0x80; b <= 0xff; b++ {
		class := binary.NativeEndian.Uint16(ctype[int(off)+2*(b+128):])
		if class&isPrint != 0 {
			bits[(b-0x80)/8] |= 1 << (b % 8)
		}
	}
	return bits
}

// item is string item i of a category's data: a magic number, a count,
// that many offsets, then the values; "" when data is short or corrupt.
func item(data []byte, i int) string {
	count, ok := u32(data, 4)
	if !ok || uint32(i) >= count {
		return ""
	}
	off, ok := u32(data, 8+4*i)
	if !ok {
		return ""
	}
	return cString(data, off)
}

// u32 reads a native-endian uint32 at off, if data holds one there.
func u32(data []byte, off int) (uint32, bool) {
	if off < 0 || off+4 > len(data) {
		return 0, false
	}
	return binary.NativeEndian.Uint32(data[off:]), true
}
