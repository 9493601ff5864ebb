package catalog

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// funcSymbols returns the function names a uprobe can attach to by name in
// the ELF file at path, as bpftrace lists them: STT_FUNC and STT_GNU_IFUNC
// symbols with a non-zero address from .symtab and .dynsym, plus those of
// the separate debug file (found by build ID, then by .gnu_debuglink) when
// one is installed under debugDir. Names are sorted and unique; ".part.N"
// clones, which bpftrace skips, are left out.
func funcSymbols(path, debugDir string) ([]string, error) {
	f, err := openELF(path)
	if err != nil {
		return nil, fmt.Errorf("read symbols: %w", err)
	}
	defer f.Close()
	var names []string
	if err := appendFuncSymbols(&names, f); err != nil {
		return nil, fmt.Errorf("read symbols of %s: %w", path, ErrNotELF)
	}
	if dbg := findDebugFile(f, path, debugDir); dbg != "" {
		// A broken debug file must not hide the binary's own symbols.
		if df, err := openELF(dbg); err == nil {
			_ = appendFuncSymbols(&names, df)
			df.Close()
		}
	}
	return sortUnique(names), nil
}

// openELF opens the ELF file at path. Its errors name the path and say
// "not an ELF binary", never what debug/elf found: a bad magic number error
// quotes the file's first bytes.
func openELF(path string) (*elf.File, error) {
	if !isELF(path) {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s: %w", path, notFound(err))
		}
		return nil, fmt.Errorf("%s: %w", path, ErrNotELF)
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (it starts like one but cannot be read)", path, ErrNotELF)
	}
	return f, nil
}

func appendFuncSymbols(names *[]string, f *elf.File) error {
	for _, read := range []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols} {
		syms, err := read()
		if err != nil {
			if errors.Is(err, elf.ErrNoSymbols) {
				continue
			}
			return err
		}
		for _, s := range syms {
			t := elf.ST_TYPE(s.Info)
			if (t != elf.STT_FUNC && t != elf.STT_GNU_IFUNC) || s.Value == 0 || s.Name == "" {
				continue
			}
			if strings.Contains(s.Name, ".part.") {
				continue
			}
			*names = append(*names, s.Name)
		}
	}
	return nil
}

// findDebugFile locates the separate debug information of f the way bcc
// (and so bpftrace) does: <debugDir>/.build-id/xx/yyyy.debug, then the
// .gnu_debuglink name next to the binary, in its .debug directory and under
// debugDir, accepted only when its CRC matches.
func findDebugFile(f *elf.File, path, debugDir string) string {
	if id := buildID(f); len(id) >= 2 {
		h := hex.EncodeToString(id)
		p := filepath.Join(debugDir, ".build-id", h[:2], h[2:]+".debug")
		if fileReadable(p) {
			return p
		}
	}
	name, crc, ok := debugLink(f)
	if !ok {
		return ""
	}
	dir := filepath.Dir(path)
	for _, p := range []string{
		filepath.Join(dir, name),
		filepath.Join(dir, ".debug", name),
		filepath.Join(debugDir, dir, name),
	} {
		if sameFile(p, path) || !fileReadable(p) {
			continue
		}
		if c, err := fileCRC(p); err == nil && c == crc {
			return p
		}
	}
	return ""
}

func buildID(f *elf.File) []byte {
	s := f.Section(".note.gnu.build-id")
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil
	}
	data, err := s.Data()
	if err != nil {
		return nil
	}
	for _, n := range parseNotes(data, f.ByteOrder, noteAlign(s)) {
		if n.typ == 3 && n.name == "GNU" { // NT_GNU_BUILD_ID
			return n.desc
		}
	}
	return nil
}

func debugLink(f *elf.File) (name string, crc uint32, ok bool) {
	s := f.Section(".gnu_debuglink")
	if s == nil || s.Type == elf.SHT_NOBITS {
		return "", 0, false
	}
	data, err := s.Data()
	if err != nil || len(data) <= 5 {
		return "", 0, false
	}
	i := bytes.IndexByte(data, 0)
	if i <= 0 || strings.ContainsRune(string(data[:i]), '/') {
		return "", 0, false
	}
	return string(data[:i]), f.ByteOrder.Uint32(data[len(data)-4:]), true
}

func fileReadable(p string) bool {
	fh, err := os.Open(p)
	if err != nil {
		return false
	}
	fh.Close()
	return true
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// fileCRC is the CRC-32 (IEEE) that .gnu_debuglink records.
func fileCRC(p string) (uint32, error) {
	fh, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, fh); err != nil {
		return 0, err
	}
	return h.Sum32(), nil
}
