package validate

import (
	"context"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
)

// TestVersionGates checks each language feature of the version table on the
// releases either side of the one that brought it: refused before, accepted
// (with a warning while it is unstable) from then on. No bpftrace runs: the
// gate is the server's own.
func TestVersionGates(t *testing.T) {
	cat := catalog.New(&catalog.Options{TracefsDir: "../catalog/testdata/tracefs", SysfsDir: "../catalog/testdata/sys"})
	for _, tt := range []struct {
		name, src string
		before    string // the last release without the feature
		since     string // the first release with it
		warns     bool   // whether it is unstable, so warned about, in since
		want      string // in the message refusing it
	}{
		{"config", "config = { max_strlen = 64 }\nBEGIN { exit(); }", "0.19", "0.20", false, "a config block needs bpftrace 0.20"},
		{"subprogram", "fn one(): int64 { return 1; }\nBEGIN { exit(); }", "0.20", "0.21", false, "a subprogram (fn) needs bpftrace 0.21"},
		{"for-map", "BEGIN { @m[1] = 1; for ($kv : @m) { print($kv); } exit(); }", "0.20", "0.21", false, "a for loop over a map needs bpftrace 0.21"},
		{"let", "BEGIN { let $x = 1; print($x); exit(); }", "0.21", "0.22", false, "a let declaration needs bpftrace 0.22"},
		{"range", "BEGIN { for ($i : 0..3) { print($i); } exit(); }", "0.23", "0.24", false, "a for loop over a range needs bpftrace 0.24"},
		{"nested-block", "BEGIN { { $x = 1; print($x); } exit(); }", "0.23", "0.24", false, "a nested block needs bpftrace 0.24"},
		{"if-no-parens", "BEGIN { $x = 1; if $x { printf(\"x\"); } exit(); }", "0.24", "0.25", false, "a condition or loop header without parentheses needs bpftrace 0.25"},
		{"for-no-parens", "BEGIN { @m[1] = 1; for $kv : @m { print($kv); } exit(); }", "0.24", "0.25", false, "a condition or loop header without parentheses needs bpftrace 0.25"},
		{"macro", "macro twice($x) { $x * 2 }\nBEGIN { print(twice(2)); exit(); }", "0.23", "0.24", true, "a macro needs bpftrace 0.24"},
		{"map-decl", "let @m = hash(16);\nBEGIN { @m[1] = 1; exit(); }", "0.23", "0.24", true, "a map declaration needs bpftrace 0.24"},
		{"import", "import \"foo\";\nBEGIN { exit(); }", "0.23", "0.24", true, "an import needs bpftrace 0.24"},
		{"begin-lowercase", "begin { exit(); }", "0.23", "0.24", false, "begin needs bpftrace 0.24"},
		{"two-begins", "BEGIN { printf(\"a\"); }\nBEGIN { exit(); }", "0.24", "0.25", false, "several begin or end probes needs bpftrace 0.25"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			check := func(rel string) *Result {
				v, err := version.Parse(rel)
				if err != nil {
					t.Fatal(err)
				}
				val := New(Options{Catalog: cat, Binary: &bpftrace.Binary{Version: v}})
				return val.Static(context.Background(), tt.src, nil)
			}
			r := check(tt.before)
			if !hasMessage(r, Error, tt.want) {
				t.Errorf("%s: no error %q:\n%s", tt.before, tt.want, render(r))
			}
			for _, rel := range []string{tt.since, "0.27"} {
				r := check(rel)
				if hasCode(r, Error, "version") {
					t.Errorf("%s: refused:\n%s", rel, render(r))
				}
				if got := hasCode(r, Warning, "version"); got != (tt.warns && rel == tt.since) {
					t.Errorf("%s: unstable warning %v, want %v:\n%s", rel, got, !got, render(r))
				}
			}
		})
	}
}

// TestTypeWithoutLet: no release accepts $x: type without let.
func TestTypeWithoutLet(t *testing.T) {
	cat := catalog.New(&catalog.Options{TracefsDir: "../catalog/testdata/tracefs", SysfsDir: "../catalog/testdata/sys"})
	for rel, hint := range map[string]string{"0.17": "drop the type", "0.27": "let $x: int64"} {
		v, _ := version.Parse(rel)
		r := New(Options{Catalog: cat, Binary: &bpftrace.Binary{Version: v}}).Static(context.Background(), "BEGIN { $x: int64 = 1; print($x); }", nil)
		if !hasMessage(r, Error, "only be written in a let declaration") || !strings.Contains(render(r), hint) {
			t.Errorf("%s:\n%s", rel, render(r))
		}
	}
}

func hasMessage(r *Result, sev Severity, text string) bool {
	for _, d := range r.Diagnostics {
		if d.Severity == sev && strings.Contains(d.Message, text) {
			return true
		}
	}
	return false
}

func hasCode(r *Result, sev Severity, code Code) bool {
	for _, d := range r.Diagnostics {
		if d.Severity == sev && d.Code == code {
			return true
		}
	}
	return false
}
