package catalog

import (
	"debug/elf"
	"os"
	"strings"
	"testing"
)

func TestFuncSymbols(t *testing.T) {
	for _, tt := range []struct {
		path    string
		want    []string // present
		notWant []string // absent: data objects, clones, undefined imports
	}{
		{"/bin/bash", []string{"readline", "main", "shell_execve"}, []string{"", "stdin", "malloc@GLIBC_2.2.5"}},
		{"/usr/bin/python3", []string{"Py_Main", "PyObject_Call"}, nil},
	} {
		t.Run(tt.path, func(t *testing.T) {
			if _, err := os.Stat(tt.path); err != nil {
				t.Skipf("needs %s: %v", tt.path, err)
			}
			syms, err := funcSymbols(tt.path, "/usr/lib/debug")
			if err != nil {
				t.Fatalf("funcSymbols(%s): %v", tt.path, err)
			}
			for _, w := range tt.want {
				if !containsSorted(syms, w) {
					t.Errorf("funcSymbols(%s) lacks %q", tt.path, w)
				}
			}
			for _, w := range tt.notWant {
				if containsSorted(syms, w) {
					t.Errorf("funcSymbols(%s) has %q", tt.path, w)
				}
			}
			for i, s := range syms {
				if strings.Contains(s, ".part.") {
					t.Errorf("funcSymbols(%s) has clone %q", tt.path, s)
				}
				if i > 0 && syms[i-1] >= s {
					t.Fatalf("funcSymbols(%s) not sorted and unique at %q, %q", tt.path, syms[i-1], s)
				}
			}
		})
	}
	if _, err := funcSymbols("testdata/tracefs/available_events", "/usr/lib/debug"); err == nil {
		t.Error("funcSymbols(non-ELF) = nil error")
	}
}

// TestFindDebugFile checks the build-ID lookup on a libc whose debug file
// (Debian's libc6-dbg) is installed, as on this project's machines.
func TestFindDebugFile(t *testing.T) {
	c := New(nil)
	libc, ok := c.lookupLibrary("c")
	if !ok {
		t.Skip("needs libc in ld.so.cache")
	}
	if _, err := os.Stat("/usr/share/doc/libc6-dbg"); err != nil {
		t.Skip("needs libc6-dbg (apt-get install libc6-dbg)")
	}
	f, err := elf.Open(libc)
	if err != nil {
		t.Fatal(err)
	}
	dbg := findDebugFile(f, libc, "/usr/lib/debug")
	f.Close()
	if !strings.HasPrefix(dbg, "/usr/lib/debug/.build-id/") {
		t.Errorf("findDebugFile(%s) = %q, want a file under /usr/lib/debug/.build-id", libc, dbg)
	}
	plain, err := funcSymbols(libc, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	withDebug, err := funcSymbols(libc, "/usr/lib/debug")
	if err != nil {
		t.Fatal(err)
	}
	// The debug file's .symtab adds local functions and versioned names
	// ("memcpy@GLIBC_2.2.5") that .dynsym lacks.
	if len(withDebug) <= len(plain) {
		t.Errorf("libc symbols with debug file: %d, without: %d; want more with", len(withDebug), len(plain))
	}
}
