package verdict

import "testing"

func TestKeyNamesEveryInput(t *testing.T) {
	base := NewKey("BEGIN { exit(); }", false, "/usr/bin/bpftrace 0.17.0", "p1")
	for name, k := range map[string]Key{
		"program":  NewKey("BEGIN { exit(); } ", false, "/usr/bin/bpftrace 0.17.0", "p1"),
		"unsafe":   NewKey("BEGIN { exit(); }", true, "/usr/bin/bpftrace 0.17.0", "p1"),
		"bpftrace": NewKey("BEGIN { exit(); }", false, "/usr/bin/bpftrace 0.23.0", "p1"),
		"policy":   NewKey("BEGIN { exit(); }", false, "/usr/bin/bpftrace 0.17.0", "p2"),
	} {
		if k == base {
			t.Errorf("a different %s gives the same key", name)
		}
	}
	if NewKey("BEGIN { exit(); }", false, "/usr/bin/bpftrace 0.17.0", "p1") != base {
		t.Error("the same inputs give different keys")
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string](2)
	a, b, d := NewKey("a", false, "", ""), NewKey("b", false, "", ""), NewKey("d", false, "", "")
	c.Put(a, "A")
	c.Put(b, "B")
	if v, ok := c.Get(a); !ok || v != "A" { // a is now the most recent
		t.Fatalf("Get(a) = %q, %v", v, ok)
	}
	c.Put(d, "D")
	if _, ok := c.Get(b); ok {
		t.Error("b survived; it was the least recently used")
	}
	for k, want := range map[Key]string{a: "A", d: "D"} {
		if v, ok := c.Get(k); !ok || v != want {
			t.Errorf("Get = %q, %v; want %q", v, ok, want)
		}
	}
	c.Put(a, "A2")
	if v, _ := c.Get(a); v != "A2" || c.Len() != 2 {
		t.Errorf("after replacing: %q, len %d", v, c.Len())
	}
}
