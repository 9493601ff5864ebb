package headtail

import (
	"strings"
	"testing"
)

func TestBuffer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"fits", 10, []string{"abc", "def"}, "abcdef"},
		{"exactly full", 4, []string{"ab", "cd"}, "abcd"},
		{"keeps head and tail", 4, []string{"ab", "cdef", "gh"}, "ab\n... [4 bytes omitted] ...\ngh"},
		{"one big write", 6, []string{strings.Repeat("x", 3) + strings.Repeat("-", 10) + "yyy"}, "xxx\n... [10 bytes omitted] ...\nyyy"},
		{"odd max", 5, []string{"abcdefgh"}, "ab\n... [3 bytes omitted] ...\nfgh"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &Buffer{Max: tt.max}
			total := 0
			for _, w := range tt.writes {
				n, err := b.Write([]byte(w))
				if err != nil || n != len(w) {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
				total += n
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if b.Len() != int64(total) {
				t.Errorf("Len() = %d, want %d", b.Len(), total)
			}
		})
	}
}
