package locale

import (
	"bytes"
	"io"
	"os"
	"strings"
	"syscall"
)

// The locale archive (glibc's locale/locarchive.h), native byte order:
//
//	header:     magic, serial, namehash offset, used, size, string offset,
//	            used, size, locrec offset, used, size, sumhash offset,
//	            used, size (uint32 each)
//	namehash:   size entries of {hashval, name offset, locrec offset}
//	locrec:     {refs, 13 × {offset, len}}, one per category number
//
// Offsets are from the start of the file. Every read is bounds-checked: a
// truncated or corrupt archive just holds nothing.
const (
	archiveMagic   = 0xde020109
	namehashEntry  = 12
	categoryRecord = 8
)

// fromArchive is the data of category num of locale name in the archive,
// or nil. Like glibc it looks up the name with its codeset normalised
// (de_DE.UTF-8 is stored as de_DE.utf8), and nothing else.
func (l *lookup) fromArchive(name string, num int) []byte {
	if !l.archiveRead {
		l.archive = mapFile(archivePath)
		l.archiveRead = true
	}
	a := l.archive
	if magic, ok := u32(a, 0); !ok || magic != archiveMagic {
		return nil
	}
	want := archiveName(name)
	hashOff, ok1 := u32(a, 8)
	hashSize, ok2 := u32(a, 16)
	if !ok1 || !ok2 {
		return nil
	}
	for i := int64(0); i < int64(hashSize); i++ {
		entry := int64(hashOff) + i*namehashEntry
		if entry+namehashEntry > int64(len(a)) {
			return nil
		}
		nameOff, _ := u32(a, int(entry)+4)
		recOff, _ := u32(a, int(entry)+8)
		if nameOff == 0 || cString(a, nameOff) != want {
			continue
		}
		off, ok1 := u32(a, int(recOff)+4+num*categoryRecord)
		size, ok2 := u32(a, int(recOff)+8+num*categoryRecord)
		if !ok1 || !ok2 || size == 0 || int64(off)+int64(size) > int64(len(a)) {
			return nil
		}
		return a[off : off+size]
	}
	return nil
}

// archiveName is name as the archive stores it: its codeset normalised.
func archiveName(name string) string {
	base, rest, ok := strings.Cut(name, ".")
	if !ok || rest == "" || rest[0] == '@' {
		return name
	}
	codeset, modifier, hasModifier := strings.Cut(rest, "@")
	name = base + "." + normalizeCodeset(codeset)
	if hasModifier {
		name += "@" + modifier
	}
	return name
}

// cString is the NUL-terminated string at off, or "" if there is none.
func cString(data []byte, off uint32) string {
	if int64(off) >= int64(len(data)) {
		return ""
	}
	s := data[off:]
	if end := bytes.IndexByte(s, 0); end >= 0 {
		return string(s[:end])
	}
	return ""
}

// mapFile maps a file read-only, as glibc does the archive (it can hold
// hundreds of megabytes, of which a lookup touches a few pages); nil if it
// cannot. The mapping lives as long as the process: the lookup is done
// once.
func mapFile(path string) []byte {
	f, size := openRegular(path)
	if f == nil {
		return nil
	}
	defer f.Close()
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return data
}

// readFile reads a category file: small, so read rather than mapped.
func readFile(path string) ([]byte, bool) {
	f, size := openRegular(path)
	if f == nil || size > 64<<20 {
		if f != nil {
			f.Close()
		}
		return nil, false
	}
	defer f.Close()
	data := make([]byte, size)
	n, _ := io.ReadFull(f, data)
	return data[:n], true
}

// openRegular opens a non-empty regular file, and nothing else: a FIFO
// or a device put where locale data should be (LOCPATH is the caller's to
// choose) must not block or flood the drop-in, so the open does not wait
// and the type is checked before any read.
func openRegular(path string) (*os.File, int64) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > 1<<32 {
		f.Close()
		return nil, 0
	}
	return f, fi.Size()
}
