package output

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTypeKey(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    string
		kind KeyKind
		arch string
		want any
	}{
		{"integer", "42", KeyAny, "amd64", int64(42)},
		{"negative", "-3", KeyAny, "amd64", int64(-3)},
		{"unsigned", "18446744073709551615", KeyInt, "amd64", uint64(18446744073709551615)},
		{"too large", "18446744073709551616", KeyAny, "amd64", "18446744073709551616"},
		{"leading zero stays text", "007", KeyAny, "amd64", "007"},
		{"minus zero stays text", "-0", KeyAny, "amd64", "-0"},
		{"comm that reads as a number", "123", KeyString, "amd64", "123"},
		{"text", "bash", KeyAny, "amd64", "bash"},
		{"stack", "\n    a+1\n    b+2\n", KeyStack, "amd64", Stack{Frames: []string{"a+1", "b+2"}}},
		{"stack untyped", "\n    a+1\n", KeyAny, "amd64", Stack{Frames: []string{"a+1"}}},
		{"perf stack", "\n\t7f00 a (/lib/x)\n", KeyStack, "amd64", Stack{Frames: []string{"7f00 a (/lib/x)"}}},
		{"0.27 stack", "\na+1\nb+2\n", KeyStack, "amd64", Stack{Frames: []string{"a+1", "b+2"}}},
		{"0.23 stack", `\n        a+1\n        b+2\n`, KeyStack, "amd64", Stack{Frames: []string{"a+1", "b+2"}}},
		{"text with a newline is no stack", "a\nb", KeyAny, "amd64", "a\nb"},
		{"empty stack", "\n", KeyStack, "amd64", Stack{Frames: []string{}}},
		{"syscall amd64", "257", KeySyscall, "amd64", Syscall{Nr: 257, Name: "openat"}},
		{"syscall arm64", "56", KeySyscall, "arm64", Syscall{Nr: 56, Name: "openat"}},
		{"unknown syscall", "99999", KeySyscall, "amd64", int64(99999)},
		{"syscall on another arch", "1", KeySyscall, "riscv64", int64(1)},
		{"negative syscall", "-1", KeySyscall, "amd64", int64(-1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := typeKey(tt.s, tt.kind, tt.arch)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("typeKey(%q) mismatch (-want +got):\n%s", tt.s, diff)
			}
			if text := keyPartText(got); text != tt.s {
				t.Errorf("text of typed key = %q, want %q", text, tt.s)
			}
		})
	}
}

func TestSyscallTables(t *testing.T) {
	for _, tt := range []struct {
		arch string
		nr   int64
		want string
	}{
		{"amd64", 0, "read"}, {"amd64", 59, "execve"}, {"amd64", 62, "kill"},
		{"arm64", 63, "read"}, {"arm64", 221, "execve"}, {"arm64", 129, "kill"},
	} {
		if got, ok := SyscallName(tt.arch, tt.nr); !ok || got != tt.want {
			t.Errorf("SyscallName(%s, %d) = %q, %v; want %q", tt.arch, tt.nr, got, ok, tt.want)
		}
	}
}

// FuzzTypeKey checks that a typed key part always renders as the text
// bpftrace printed, whatever the kind.
func FuzzTypeKey(f *testing.F) {
	for _, s := range []string{"1", "-1", "007", "\n    a\n", "\n", "\n    \n", "\n     a\n", "x", "18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []KeyKind{KeyAny, KeyInt, KeyString, KeyStack, KeySyscall} {
			if got := keyPartText(typeKey(s, kind, "amd64")); got != s {
				t.Fatalf("kind %q: %q renders as %q", kind, s, got)
			}
		}
	})
}
