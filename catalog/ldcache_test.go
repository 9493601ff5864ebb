package catalog

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ldCacheFile builds a new-format ld.so.cache holding entries.
func ldCacheFile(entries []ldEntry) []byte {
	var strs bytes.Buffer
	strBase := ldHeaderNew + len(entries)*ldEntryNew
	type offs struct{ k, v uint32 }
	var o []offs
	for _, e := range entries {
		k := uint32(strBase + strs.Len())
		strs.WriteString(e.Name + "\x00")
		v := uint32(strBase + strs.Len())
		strs.WriteString(e.Path + "\x00")
		o = append(o, offs{k, v})
	}
	var b bytes.Buffer
	b.WriteString(ldMagicNew)
	le := binary.LittleEndian
	binary.Write(&b, le, uint32(len(entries)))
	binary.Write(&b, le, uint32(strs.Len()))
	b.Write(make([]byte, 4+4+12))
	for i, e := range entries {
		binary.Write(&b, le, e.Flags)
		binary.Write(&b, le, o[i].k)
		binary.Write(&b, le, o[i].v)
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, uint64(0))
	}
	b.Write(strs.Bytes())
	return b.Bytes()
}

func TestParseLDCache(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("needs amd64: the synthetic cache uses x86-64 flags")
	}
	entries := []ldEntry{
		{Flags: 0x0303, Name: "libz.so.1", Path: "/lib/x86_64-linux-gnu/libz.so.1"},
		{Flags: 0x0003, Name: "libc.so.6", Path: "/lib/i386-linux-gnu/libc.so.6"},
		{Flags: 0x0303, Name: "libc.so.6", Path: "/lib/x86_64-linux-gnu/libc.so.6"},
		{Flags: 0x0303, Name: "libcrypt.so.1", Path: "/lib/x86_64-linux-gnu/libcrypt.so.1"},
	}
	got, err := parseLDCache(ldCacheFile(entries))
	if err != nil {
		t.Fatalf("parseLDCache: %v", err)
	}
	if diff := cmp.Diff(entries, got); diff != "" {
		t.Errorf("parseLDCache mismatch (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ name, want string }{
		{"c", "/lib/x86_64-linux-gnu/libc.so.6"},
		{"libc", "/lib/x86_64-linux-gnu/libc.so.6"},
		{"libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"},
		{"crypt", "/lib/x86_64-linux-gnu/libcrypt.so.1"},
		{"libcr", ""}, // a prefix of a soname is not a library name
		{"nope", ""},
	} {
		p, _ := lookupLDCache(got, tt.name)
		if p != tt.want {
			t.Errorf("lookupLDCache(%q) = %q, want %q", tt.name, p, tt.want)
		}
	}
	for _, bad := range [][]byte{nil, []byte("glibc-ld.so.cache1.1"), []byte("ld.so-1.7.0\x00\xff\xff\xff\xff")} {
		if _, err := parseLDCache(bad); err == nil {
			t.Errorf("parseLDCache(%q) = nil error", bad)
		}
	}
}

func TestParseLDCacheHost(t *testing.T) {
	data, err := os.ReadFile("/etc/ld.so.cache")
	if err != nil {
		t.Skipf("needs /etc/ld.so.cache: %v", err)
	}
	entries, err := parseLDCache(data)
	if err != nil {
		t.Fatalf("parseLDCache(/etc/ld.so.cache): %v", err)
	}
	p, ok := lookupLDCache(entries, "libc")
	if !ok {
		t.Fatalf("lookupLDCache(libc) found nothing in %d entries", len(entries))
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("lookupLDCache(libc) = %s: %v", p, err)
	}
}

// FuzzLDCache checks that any cache file parses or errors without panicking.
func FuzzLDCache(f *testing.F) {
	f.Add(ldCacheFile([]ldEntry{{Flags: 0x303, Name: "libc.so.6", Path: "/lib/libc.so.6"}}))
	if data, err := os.ReadFile("/etc/ld.so.cache"); err == nil && len(data) < 1<<20 {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseLDCache(data)
		if err != nil && entries != nil {
			t.Fatalf("parseLDCache returned entries with error %v", err)
		}
		lookupLDCache(entries, "c")
	})
}
