package catalog

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stapsdtNote builds one .note.stapsdt record as the sys/sdt.h macros do.
func stapsdtNote(order binary.ByteOrder, addrSize int, pc, sem uint64, provider, name, args string) []byte {
	var desc bytes.Buffer
	for _, a := range []uint64{pc, 0x1000, sem} {
		if addrSize == 4 {
			binary.Write(&desc, order, uint32(a))
		} else {
			binary.Write(&desc, order, a)
		}
	}
	desc.WriteString(provider + "\x00" + name + "\x00" + args + "\x00")
	var b bytes.Buffer
	binary.Write(&b, order, uint32(8))
	binary.Write(&b, order, uint32(desc.Len()))
	binary.Write(&b, order, uint32(ntStapsdt))
	b.WriteString("stapsdt\x00")
	b.Write(desc.Bytes())
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

func TestParseStapsdt(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	for _, tt := range []struct {
		name     string
		data     []byte
		order    binary.ByteOrder
		addrSize int
		want     []usdtProbe
	}{
		{
			name:     "64-bit two probes",
			data:     append(stapsdtNote(le, 8, 0x4010, 0, "python", "gc__start", "-4@%eax"), stapsdtNote(le, 8, 0x4020, 0x9000, "python", "line", "8@%rbx -4@%ecx")...),
			order:    le,
			addrSize: 8,
			want: []usdtProbe{
				{Provider: "python", Name: "gc__start", Args: "-4@%eax", PC: 0x4010},
				{Provider: "python", Name: "line", Args: "8@%rbx -4@%ecx", PC: 0x4020, Semaphore: 0x9000},
			},
		},
		{
			name:     "32-bit big-endian",
			data:     stapsdtNote(be, 4, 0x100, 0x200, "p", "n", ""),
			order:    be,
			addrSize: 4,
			want:     []usdtProbe{{Provider: "p", Name: "n", PC: 0x100, Semaphore: 0x200}},
		},
		{
			name:     "other note types are skipped",
			data:     append([]byte{4, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0, 1, 2, 3, 4}, stapsdtNote(le, 8, 1, 0, "a", "b", "")...),
			order:    le,
			addrSize: 8,
			want:     []usdtProbe{{Provider: "a", Name: "b", PC: 1}},
		},
		{
			name:     "truncated strings are dropped",
			data:     stapsdtNote(le, 8, 1, 0, "a", "b", "")[:12+8+24+2],
			order:    le,
			addrSize: 8,
		},
		{name: "empty", order: le, addrSize: 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := parseStapsdt(tt.data, tt.order, tt.addrSize, 4)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseStapsdt mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUSDTArgs(t *testing.T) {
	got := usdtArgs("-4@%eax 8@%rbx 1@-5(%rbp) %rcx")
	want := []Field{
		{Decl: "int32 arg0", Type: "int32", Name: "arg0", Size: 4, Signed: true},
		{Decl: "uint64 arg1", Type: "uint64", Name: "arg1", Size: 8},
		{Decl: "uint8 arg2", Type: "uint8", Name: "arg2", Size: 1},
		{Decl: "int64 arg3", Type: "int64", Name: "arg3", Size: 8, Signed: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("usdtArgs mismatch (-want +got):\n%s", diff)
	}
}

// TestUSDTProbesPython reads the real python3 of this host: Debian's 3.11
// has eight probes in provider "python".
func TestUSDTProbesPython(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("needs %s: %v", py, err)
	}
	probes, err := usdtProbes(py)
	if err != nil {
		t.Fatalf("usdtProbes(%s): %v", py, err)
	}
	var keys []string
	for _, p := range probes {
		keys = append(keys, p.key())
	}
	for _, want := range []string{"python:function__entry", "python:gc__start", "python:line"} {
		if !containsSorted(keys, want) {
			t.Errorf("usdtProbes(%s) lacks %s; got %v", py, want, keys)
		}
	}
}

func TestUSDTProbesNoNotes(t *testing.T) {
	probes, err := usdtProbes("/bin/bash")
	if err != nil {
		t.Fatalf("usdtProbes(/bin/bash): %v", err)
	}
	if len(probes) != 0 {
		t.Errorf("usdtProbes(/bin/bash) = %v, want none", probes)
	}
	if _, err := usdtProbes("testdata/tracefs/available_events"); err == nil {
		t.Error("usdtProbes(non-ELF) = nil error")
	}
}

// FuzzStapsdtNote checks that any note section parses without panicking
// and that every probe it yields has a provider and a name.
func FuzzStapsdtNote(f *testing.F) {
	le := binary.LittleEndian
	f.Add(stapsdtNote(le, 8, 0x4010, 0, "python", "gc__start", "-4@%eax"), true)
	f.Add(stapsdtNote(le, 4, 1, 2, "a", "b", "c"), false)
	if ef, err := elf.Open("/usr/bin/python3"); err == nil {
		if s := ef.Section(".note.stapsdt"); s != nil {
			if data, err := s.Data(); err == nil {
				f.Add(data, true)
			}
		}
		ef.Close()
	}
	f.Fuzz(func(t *testing.T, data []byte, is64 bool) {
		size := 4
		if is64 {
			size = 8
		}
		for _, align := range []int{4, 8} {
			for _, p := range parseStapsdt(data, le, size, align) {
				if p.Provider == "" || p.Name == "" {
					t.Fatalf("probe without provider or name: %+v", p)
				}
			}
		}
	})
}
