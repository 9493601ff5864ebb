package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
)

// ldEntry is one library in /etc/ld.so.cache.
type ldEntry struct {
	Flags int32
	Name  string // soname, e.g. "libc.so.6"
	Path  string // e.g. "/lib/x86_64-linux-gnu/libc.so.6"
}

const (
	ldMagicOld = "ld.so-1.7.0"
	ldMagicNew = "glibc-ld.so.cache1.1"
	// Header of the new format: magic and version (20 bytes), nlibs,
	// len_strings, flags and 3 bytes of padding, extension offset and
	// 3 unused words.
	ldHeaderNew = 20 + 4 + 4 + 4 + 4 + 12
	ldEntryNew  = 24 // flags, key, value, osversion, hwcap(8)
	ldEntryOld  = 12 // flags, key, value
)

var errBadLDCache = errors.New("not an ld.so.cache file")

// parseLDCache decodes the glibc ld.so.cache, new format, optionally behind
// the old-format table that glibc before 2.32 wrote first. Entries keep the
// file's order, which is the order the dynamic linker (and bcc) search.
func parseLDCache(data []byte) ([]ldEntry, error) {
	base := 0
	if bytes.HasPrefix(data, []byte(ldMagicOld)) {
		if len(data) < 16 {
			return nil, errBadLDCache
		}
		n := uint64(binary.LittleEndian.Uint32(data[12:16]))
		end := 16 + n*ldEntryOld
		// The new table follows, aligned like its header.
		end = alignUp(end, 8)
		if end > uint64(len(data)) {
			return nil, errBadLDCache
		}
		base = int(end)
	}
	d := data[base:]
	if !bytes.HasPrefix(d, []byte(ldMagicNew)) || len(d) < ldHeaderNew {
		return nil, errBadLDCache
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if isBigEndianArch() {
		order = binary.BigEndian
	}
	n := uint64(order.Uint32(d[20:24]))
	if n > uint64(len(d))/ldEntryNew {
		return nil, errBadLDCache
	}
	entries := make([]ldEntry, 0, n)
	for i := uint64(0); i < n; i++ {
		off := ldHeaderNew + i*ldEntryNew
		if off+ldEntryNew > uint64(len(d)) {
			return nil, errBadLDCache
		}
		e := d[off : off+ldEntryNew]
		flags := int32(order.Uint32(e[0:4]))
		// String offsets in the new format are relative to the start of
		// the new header.
		name, ok1 := cString(d, order.Uint32(e[4:8]))
		path, ok2 := cString(d, order.Uint32(e[8:12]))
		if !ok1 || !ok2 {
			return nil, errBadLDCache
		}
		entries = append(entries, ldEntry{Flags: flags, Name: name, Path: path})
	}
	return entries, nil
}

func cString(d []byte, off uint32) (string, bool) {
	if uint64(off) >= uint64(len(d)) {
		return "", false
	}
	end := bytes.IndexByte(d[off:], 0)
	if end < 0 {
		return "", false
	}
	return string(d[off : uint64(off)+uint64(end)]), true
}

func isBigEndianArch() bool {
	switch runtime.GOARCH {
	case "s390x", "ppc64", "mips", "mips64", "sparc64":
		return true
	}
	return false
}

// ld.so.cache flags: the low byte is the library kind, the next byte the
// architecture the library was built for.
const (
	ldFlagTypeMask = 0x00ff
	ldFlagArchMask = 0xff00
	ldFlagELFLibc6 = 0x0003
)

// ldArchFlag is the architecture byte of this process's own libraries, the
// ones a uprobe on a library name should find (bcc's match_so_flags).
func ldArchFlag() (int32, bool) {
	switch runtime.GOARCH {
	case "amd64":
		return 0x0300, true
	case "arm64":
		return 0x0a00, true
	case "386", "arm":
		return 0, true
	case "ppc64", "ppc64le":
		return 0x0500, true
	case "s390x":
		return 0x0400, true
	case "riscv64":
		return 0x1000, true // FLAG_RISCV_FLOAT_ABI_DOUBLE; soft-float differs
	}
	return 0, false
}

// lookupLDCache finds the library for a name like "c", "libc" or
// "libc.so.6" as bcc does: the first entry built for this architecture
// whose soname is the name, or starts with "lib<name>.so" (or "<name>.so"
// when the name already starts with "lib").
func lookupLDCache(entries []ldEntry, name string) (string, bool) {
	want, wantOK := ldArchFlag()
	usable := func(e ldEntry) bool {
		return e.Flags&ldFlagTypeMask == ldFlagELFLibc6 && (!wantOK || e.Flags&ldFlagArchMask == want)
	}
	for _, e := range entries {
		if usable(e) && e.Name == name {
			return e.Path, true
		}
	}
	prefixes := []string{"lib" + name + ".so"}
	if strings.HasPrefix(name, "lib") {
		prefixes = append(prefixes, name+".so")
	}
	for _, prefix := range prefixes {
		for _, e := range entries {
			if usable(e) && strings.HasPrefix(e.Name, prefix) {
				return e.Path, true
			}
		}
	}
	return "", false
}
