package catalog

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testSym is one symbol for writeTestELF.
type testSym struct {
	name  string
	typ   elf.SymType
	value uint64
}

// testELF describes a small x86-64 ELF file for tests: what bpftrace reads
// from binaries (symbol tables, USDT notes, a build ID), nothing else.
type testELF struct {
	symtab  []testSym
	dynsym  []testSym
	notes   []byte // .note.stapsdt contents
	buildID []byte
}

// writeTestELF writes e to dir/name and returns its path. Section contents
// are laid out one after the other, then the section headers.
func writeTestELF(t testing.TB, dir, name string, e testELF) string {
	t.Helper()
	le := binary.LittleEndian
	type section struct {
		name           string
		typ            elf.SectionType
		flags          elf.SectionFlag
		addr           uint64
		data           []byte
		link, info     uint32
		align, entsize uint64
	}
	strtab := func(names []testSym) ([]byte, []uint32) {
		b := []byte{0}
		var offs []uint32
		for _, s := range names {
			offs = append(offs, uint32(len(b)))
			b = append(b, s.name+"\x00"...)
		}
		return b, offs
	}
	symbols := func(syms []testSym, offs []uint32) []byte {
		var b bytes.Buffer
		b.Write(make([]byte, 24)) // symbol 0
		for i, s := range syms {
			binary.Write(&b, le, offs[i])
			b.WriteByte(byte(elf.STB_GLOBAL)<<4 | byte(s.typ))
			b.WriteByte(0)
			binary.Write(&b, le, uint16(1)) // .text
			binary.Write(&b, le, s.value)
			binary.Write(&b, le, uint64(4))
		}
		return b.Bytes()
	}
	secs := []section{
		{},
		{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, addr: 0x1000, data: make([]byte, 16), align: 16},
	}
	if e.symtab != nil {
		str, offs := strtab(e.symtab)
		n := uint32(len(secs))
		secs = append(secs,
			section{name: ".symtab", typ: elf.SHT_SYMTAB, data: symbols(e.symtab, offs), link: n + 1, info: 1, align: 8, entsize: 24},
			section{name: ".strtab", typ: elf.SHT_STRTAB, data: str, align: 1})
	}
	if e.dynsym != nil {
		str, offs := strtab(e.dynsym)
		n := uint32(len(secs))
		secs = append(secs,
			section{name: ".dynsym", typ: elf.SHT_DYNSYM, flags: elf.SHF_ALLOC, data: symbols(e.dynsym, offs), link: n + 1, info: 1, align: 8, entsize: 24},
			section{name: ".dynstr", typ: elf.SHT_STRTAB, flags: elf.SHF_ALLOC, data: str, align: 1})
	}
	if e.notes != nil {
		secs = append(secs, section{name: ".note.stapsdt", typ: elf.SHT_NOTE, data: e.notes, align: 4})
	}
	if e.buildID != nil {
		var b bytes.Buffer
		binary.Write(&b, le, uint32(4))
		binary.Write(&b, le, uint32(len(e.buildID)))
		binary.Write(&b, le, uint32(3))
		b.WriteString("GNU\x00")
		b.Write(e.buildID)
		secs = append(secs, section{name: ".note.gnu.build-id", typ: elf.SHT_NOTE, flags: elf.SHF_ALLOC, data: b.Bytes(), align: 4})
	}
	shstr := []byte{0}
	nameOff := make([]uint32, len(secs)+1)
	for i := range secs {
		if secs[i].name != "" {
			nameOff[i] = uint32(len(shstr))
			shstr = append(shstr, secs[i].name+"\x00"...)
		}
	}
	nameOff[len(secs)] = uint32(len(shstr))
	shstr = append(shstr, ".shstrtab\x00"...)
	secs = append(secs, section{name: ".shstrtab", typ: elf.SHT_STRTAB, data: shstr, align: 1})

	var body bytes.Buffer
	body.Write(make([]byte, 64))
	offsets := make([]uint64, len(secs))
	for i, s := range secs {
		for body.Len()%8 != 0 {
			body.WriteByte(0)
		}
		offsets[i] = uint64(body.Len())
		body.Write(s.data)
	}
	for body.Len()%8 != 0 {
		body.WriteByte(0)
	}
	shoff := uint64(body.Len())
	for i, s := range secs {
		binary.Write(&body, le, nameOff[i])
		binary.Write(&body, le, uint32(s.typ))
		binary.Write(&body, le, uint64(s.flags))
		binary.Write(&body, le, s.addr)
		binary.Write(&body, le, offsets[i])
		binary.Write(&body, le, uint64(len(s.data)))
		binary.Write(&body, le, s.link)
		binary.Write(&body, le, s.info)
		binary.Write(&body, le, s.align)
		binary.Write(&body, le, s.entsize)
	}
	out := body.Bytes()
	var h bytes.Buffer
	h.Write([]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	h.Write(make([]byte, 9))
	binary.Write(&h, le, uint16(elf.ET_DYN))
	binary.Write(&h, le, uint16(elf.EM_X86_64))
	binary.Write(&h, le, uint32(elf.EV_CURRENT))
	binary.Write(&h, le, uint64(0x1000)) // entry
	binary.Write(&h, le, uint64(0))      // phoff
	binary.Write(&h, le, shoff)
	binary.Write(&h, le, uint32(0))  // flags
	binary.Write(&h, le, uint16(64)) // ehsize
	binary.Write(&h, le, uint16(56)) // phentsize
	binary.Write(&h, le, uint16(0))  // phnum
	binary.Write(&h, le, uint16(64)) // shentsize
	binary.Write(&h, le, uint16(len(secs)))
	binary.Write(&h, le, uint16(len(secs)-1))
	copy(out, h.Bytes())

	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, out, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeBinary is the uprobe/usdt target of the fake host: functions, an
// object, a clone, an undefined import, an IFUNC and two USDT probes, one of
// them placed twice.
func fakeBinary(t testing.TB, dir string) string {
	le := binary.LittleEndian
	notes := append(stapsdtNote(le, 8, 0x1004, 0, "app", "request__start", "-4@%edi 8@%rsi"),
		stapsdtNote(le, 8, 0x1008, 0x2000, "app", "request__done", "-4@%eax")...)
	notes = append(notes, stapsdtNote(le, 8, 0x100c, 0, "app", "request__start", "-4@%edi 8@%rsi")...)
	notes = append(notes, stapsdtNote(le, 8, 0x10, 0, "app", "before__text", "")...)
	return writeTestELF(t, dir, "bin/app", testELF{
		symtab: []testSym{
			{"main", elf.STT_FUNC, 0x1000},
			{"handle_request", elf.STT_FUNC, 0x1004},
			{"handle_request.part.0", elf.STT_FUNC, 0x1008},
			{"config", elf.STT_OBJECT, 0x3000},
			{"undefined_import", elf.STT_FUNC, 0},
		},
		dynsym: []testSym{
			{"handle_request", elf.STT_FUNC, 0x1004},
			{"fast_memcpy", elf.STT_GNU_IFUNC, 0x100c},
		},
		notes: notes,
	})
}

func TestFuncSymbolsFake(t *testing.T) {
	dir := t.TempDir()
	id := []byte{0xab, 0xcd, 0xef, 0x01}
	withID := writeTestELF(t, dir, "bin/withid", testELF{
		symtab:  []testSym{{"main", elf.STT_FUNC, 0x1000}},
		buildID: id,
	})
	debugDir := filepath.Join(dir, "debug")
	writeTestELF(t, debugDir, ".build-id/ab/cdef01.debug", testELF{
		symtab: []testSym{{"main", elf.STT_FUNC, 0x1000}, {"static_helper", elf.STT_FUNC, 0x1008}},
	})
	for _, tt := range []struct {
		name     string
		path     string
		debugDir string
		want     []string
	}{
		{"symtab and dynsym, functions only", fakeBinary(t, dir), debugDir, []string{"fast_memcpy", "handle_request", "main"}},
		{"debug file by build ID", withID, debugDir, []string{"main", "static_helper"}},
		{"debug file not installed", withID, t.TempDir(), []string{"main"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := funcSymbols(tt.path, tt.debugDir)
			if err != nil {
				t.Fatalf("funcSymbols: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("funcSymbols mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUSDTProbesFake(t *testing.T) {
	got, err := usdtProbes(fakeBinary(t, t.TempDir()))
	if err != nil {
		t.Fatalf("usdtProbes: %v", err)
	}
	// One entry per probe; the one placed before .text is dropped, as bcc
	// drops it.
	want := []usdtProbe{
		{Provider: "app", Name: "request__done", Args: "-4@%eax", PC: 0x1008, Semaphore: 0x2000},
		{Provider: "app", Name: "request__start", Args: "-4@%edi 8@%rsi", PC: 0x1004},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("usdtProbes mismatch (-want +got):\n%s", diff)
	}
}
