package lang

import (
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

func TestRespell(t *testing.T) {
	v17, v19, v27 := version.Version{Minor: 17}, version.Version{Minor: 19}, version.Version{Minor: 27, Patch: 1}
	for _, tt := range []struct {
		src  string
		v    version.Version
		want string
	}{
		{"t:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args->filename)); }", v19,
			"t:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args.filename)); }"},
		{"t:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args.filename)); }", v17,
			"t:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args->filename)); }"},
		// Strings, comments, other pointers and the layout are left alone.
		{"t:a:b /args -> ret < 0/ { // args->x\n  printf(\"args->x\"); @[curtask->comm, (args)->fd] = count(); }", v27,
			"t:a:b /args.ret < 0/ { // args->x\n  printf(\"args->x\"); @[curtask->comm, (args).fd] = count(); }"},
		{"t:a:b { @ = args->x; }", version.Version{}, "t:a:b { @ = args->x; }"},
		{"t:a:b { @ = args->x; }", v17, "t:a:b { @ = args->x; }"},
		// What parsed is rewritten even when the rest does not parse.
		{"t:a:b { @ = args->x; ... }", v27, "t:a:b { @ = args.x; ... }"},
	} {
		if got := Respell(tt.src, tt.v); got != tt.want {
			t.Errorf("Respell(%q, %v)\n got %q\nwant %q", tt.src, tt.v, got, tt.want)
		}
	}
}

func FuzzRespell(f *testing.F) {
	f.Add("t:a:b { @ = args->x + (args).y; }")
	f.Add("t:a:b /args.ret/ { }")
	f.Fuzz(func(t *testing.T, src string) {
		for _, v := range []version.Version{{Minor: 17}, {Minor: 27}} {
			out := Respell(src, v)
			// Respelling twice changes nothing more, and respelling back
			// and forth gives the text back when the program parses.
			if again := Respell(out, v); again != out {
				t.Fatalf("not idempotent for %v: %q -> %q -> %q", v, src, out, again)
			}
		}
		if _, err := Parse("", src); err == nil {
			arrows := Respell(src, version.Version{Minor: 17})
			if back := Respell(Respell(arrows, version.Version{Minor: 27}), version.Version{Minor: 17}); back != arrows {
				t.Fatalf("round trip: %q -> %q", arrows, back)
			}
		}
	})
}
