package lang

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLimits(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		wantErrs  int
		wantFirst string
	}{
		{
			name:      "deep parentheses",
			src:       "BEGIN { $x = " + strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000) + "; }",
			wantErrs:  1,
			wantFirst: "program is nested too deeply",
		},
		{
			name:      "deep blocks",
			src:       "BEGIN " + strings.Repeat("{", 10000) + strings.Repeat("}", 10000),
			wantErrs:  1,
			wantFirst: "program is nested too deeply",
		},
		{
			name:      "long else if chain",
			src:       "BEGIN { if (1) {} " + strings.Repeat("else if (1) {} ", 10000) + "}",
			wantErrs:  1,
			wantFirst: "program is nested too deeply",
		},
		{
			name:      "error count is bounded",
			src:       "BEGIN {" + strings.Repeat(" $x = ;", 1000) + "}",
			wantErrs:  maxErrors,
			wantFirst: "syntax error, unexpected ;",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := Parse("test", tt.src)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse error = %v, want an ErrorList", err)
			}
			if len(list) != tt.wantErrs || list[0].Msg != tt.wantFirst {
				t.Errorf("got %d errors, first %q; want %d, first %q", len(list), list[0].Msg, tt.wantErrs, tt.wantFirst)
			}
			if prog == nil {
				t.Fatal("no partial program")
			}
			checkTree(t, tt.src, prog)
		})
	}
}

func TestErrorStrings(t *testing.T) {
	_, err := Parse("", "BEGIN { $x = ; @y = ) }\nEND { (; }")
	if err == nil {
		t.Fatal("Parse succeeded, want errors")
	}
	const want = "stdin:1:14: syntax error, unexpected ; (and 2 more errors)"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var list ErrorList
	if !errors.As(err, &list) || list.Err() == nil || ErrorList(nil).Err() != nil {
		t.Errorf("ErrorList.Err does not report emptiness")
	}
}
