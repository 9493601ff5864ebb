package catalog

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// usdtProbe is one USDT probe from a .note.stapsdt section. A probe placed
// at several sites in the code appears once.
type usdtProbe struct {
	Provider  string
	Name      string
	Args      string // argument spec, e.g. "-4@%eax 8@%rbx"
	PC        uint64
	Semaphore uint64
}

const ntStapsdt = 3

// parseStapsdt decodes the notes of a .note.stapsdt section. addrSize is 4
// or 8 (the ELF class). Malformed notes are skipped, as bcc skips them.
func parseStapsdt(data []byte, order binary.ByteOrder, addrSize, align int) []usdtProbe {
	var probes []usdtProbe
	for _, n := range parseNotes(data, order, align) {
		if n.typ != ntStapsdt || n.name != "stapsdt" {
			continue
		}
		p, ok := parseStapsdtDesc(n.desc, order, addrSize)
		if ok {
			probes = append(probes, p)
		}
	}
	return probes
}

// parseStapsdtDesc decodes pc, base and semaphore addresses followed by the
// NUL-terminated provider, name and argument strings.
func parseStapsdtDesc(d []byte, order binary.ByteOrder, addrSize int) (usdtProbe, bool) {
	if len(d) < 3*addrSize {
		return usdtProbe{}, false
	}
	addr := func(i int) uint64 {
		if addrSize == 4 {
			return uint64(order.Uint32(d[i*4:]))
		}
		return order.Uint64(d[i*8:])
	}
	p := usdtProbe{PC: addr(0), Semaphore: addr(2)}
	rest := d[3*addrSize:]
	var strs [3]string
	for i := range strs {
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			return usdtProbe{}, false
		}
		strs[i], rest = string(rest[:end]), rest[end+1:]
	}
	p.Provider, p.Name, p.Args = strs[0], strs[1], strs[2]
	if p.Provider == "" || p.Name == "" {
		return usdtProbe{}, false
	}
	return p, true
}

// usdtProbes reads the USDT probes of the ELF file at path, sorted by
// provider and name with one entry per probe.
func usdtProbes(path string) ([]usdtProbe, error) {
	f, err := openELF(path)
	if err != nil {
		return nil, fmt.Errorf("read usdt probes: %w", err)
	}
	defer f.Close()
	addrSize := 8
	if f.Class == elf.ELFCLASS32 {
		addrSize = 4
	}
	// bcc ignores probes whose address lies before the first executable
	// section: they come from broken notes and cannot be attached.
	var firstExec uint64
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR != 0 {
			firstExec = s.Addr
			break
		}
	}
	var all []usdtProbe
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE || s.Name != ".note.stapsdt" {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("read usdt probes of %s: %w", path, ErrNotELF)
		}
		for _, p := range parseStapsdt(data, f.ByteOrder, addrSize, noteAlign(s)) {
			if p.PC >= firstExec {
				all = append(all, p)
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].key() < all[j].key() })
	out := all[:0]
	for _, p := range all {
		if len(out) == 0 || out[len(out)-1].key() != p.key() {
			out = append(out, p)
		}
	}
	return out, nil
}

func (p usdtProbe) key() string { return p.Provider + ":" + p.Name }

// usdtArgs describes a probe's arguments from its spec: "-4@%eax" is a
// signed 32-bit value, "8@%rbx" an unsigned 64-bit one.
func usdtArgs(spec string) []Field {
	var fields []Field
	for i, a := range strings.Fields(spec) {
		typ := "int64"
		if sz, _, ok := strings.Cut(a, "@"); ok {
			if n, err := strconv.Atoi(sz); err == nil && (n == 1 || n == 2 || n == 4 || n == 8 || n == -1 || n == -2 || n == -4 || n == -8) {
				signed := n < 0
				if signed {
					n = -n
				}
				typ = fmt.Sprintf("int%d", n*8)
				if !signed {
					typ = "u" + typ
				}
			}
		}
		name := fmt.Sprintf("arg%d", i)
		fields = append(fields, Field{Decl: typ + " " + name, Type: typ, Name: name, Size: sizeOfIntType(typ), Signed: !strings.HasPrefix(typ, "u")})
	}
	return fields
}

func sizeOfIntType(t string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(t, "u"), "int"))
	if err != nil {
		return 0
	}
	return n / 8
}
