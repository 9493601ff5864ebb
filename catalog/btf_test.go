package catalog

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// btfType is one record for btfBlob: kind, name and vlen; the kind's
// trailing data is zero-filled.
type btfType struct {
	kind uint32
	name string
	vlen uint32
}

// btfBlob builds a little-endian raw BTF blob holding types.
func btfBlob(types []btfType) []byte {
	var strs bytes.Buffer
	strs.WriteByte(0)
	var tb bytes.Buffer
	le := binary.LittleEndian
	for _, t := range types {
		off := uint32(0)
		if t.name != "" {
			off = uint32(strs.Len())
			strs.WriteString(t.name + "\x00")
		}
		binary.Write(&tb, le, off)
		binary.Write(&tb, le, t.kind<<24|t.vlen)
		binary.Write(&tb, le, uint32(0))
		extra := 0
		switch t.kind {
		case btfKindInt, btfKindVar, btfKindDeclTag:
			extra = 4
		case btfKindArray:
			extra = 12
		case btfKindStruct, btfKindUnion, btfKindDatasec, btfKindEnum64:
			extra = 12 * int(t.vlen)
		case btfKindEnum, btfKindFuncProto:
			extra = 8 * int(t.vlen)
		}
		tb.Write(make([]byte, extra))
	}
	var b bytes.Buffer
	binary.Write(&b, le, uint16(0xeb9f))
	b.Write([]byte{1, 0})
	binary.Write(&b, le, uint32(24))
	binary.Write(&b, le, uint32(0))
	binary.Write(&b, le, uint32(tb.Len()))
	binary.Write(&b, le, uint32(tb.Len()))
	binary.Write(&b, le, uint32(strs.Len()))
	b.Write(tb.Bytes())
	b.Write(strs.Bytes())
	return b.Bytes()
}

func TestParseBTFNames(t *testing.T) {
	blob := btfBlob([]btfType{
		{kind: btfKindInt, name: "int"},
		{kind: btfKindStruct, name: "bpf_iter__task", vlen: 2},
		{kind: btfKindFuncProto, vlen: 3},
		{kind: btfKindFunc, name: "vfs_read"},
		{kind: btfKindEnum, name: "e", vlen: 4},
		{kind: btfKindStruct, name: "bpf_iter_num", vlen: 1},
		{kind: btfKindFunc, name: "do_sys_open"},
		{kind: btfKindStruct, name: "bpf_iter__task_file", vlen: 3},
		{kind: btfKindDatasec, name: ".data", vlen: 2},
		{kind: btfKindFunc, name: "vfs_read"},
	})
	got, err := parseBTFNames(blob)
	if err != nil {
		t.Fatalf("parseBTFNames: %v", err)
	}
	want := btfNames{funcs: []string{"do_sys_open", "vfs_read"}, iters: []string{"task", "task_file"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(btfNames{})); diff != "" {
		t.Errorf("parseBTFNames mismatch (-want +got):\n%s", diff)
	}
	if _, err := parseBTFNames(blob[:len(blob)-40]); err == nil {
		t.Error("parseBTFNames(truncated) = nil error")
	}
}

// TestParseBTFNamesHost parses this kernel's BTF, which bpftrace uses for
// kfunc and iter probes where they work.
func TestParseBTFNamesHost(t *testing.T) {
	data, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Skipf("needs kernel BTF: %v", err)
	}
	n, err := parseBTFNames(data)
	if err != nil {
		t.Fatalf("parseBTFNames(vmlinux): %v", err)
	}
	if len(n.funcs) < 1000 || !containsSorted(n.funcs, "ksys_read") {
		t.Errorf("parseBTFNames(vmlinux): %d funcs, ksys_read present: %v", len(n.funcs), containsSorted(n.funcs, "ksys_read"))
	}
	if !containsSorted(n.iters, "task") {
		t.Errorf("parseBTFNames(vmlinux) iters = %v, want task among them", n.iters)
	}
}

func FuzzBTFNames(f *testing.F) {
	f.Add(btfBlob([]btfType{{kind: btfKindFunc, name: "f"}, {kind: btfKindStruct, name: "bpf_iter__x", vlen: 1}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseBTFNames(data)
		if err != nil && (n.funcs != nil || n.iters != nil) {
			t.Fatalf("names returned with error %v", err)
		}
	})
}
