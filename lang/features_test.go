package lang

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

func TestFeatures(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want []string // feature key @ line:column
	}{
		{"BEGIN { printf(\"%d\\n\", args->x); exit(); }", nil},
		{"config = { max_strlen = 64 }\nBEGIN { exit(1); }", []string{"config_block@1:1", "exit_code@2:9"}},
		{"import \"x\";\nlet @m = hash(2);\nmacro f($a) { $a }\nfn g(): int64 { return 1; }\nbegin { }",
			[]string{"imports@1:1", "map_declarations@2:1", "macros@3:1", "subprograms@4:1", "lowercase_begin_end@5:1"}},
		{"BEGIN { let $x = 1; for ($kv : @m) { } for $i : 0..2 { } }",
			[]string{"let_declarations@1:9", "for_map@1:21", "for_range@1:40", "optional_parens@1:40"}},
		{"t:syscalls:sys_enter_read { @[args.fd] = count(); }\nfentry:vfs_read, FEXIT:vfs_read, rt:sched_switch { }",
			[]string{"args_struct@1:31", "fentry_names@2:1", "fentry_names@2:18", "rawtracepoint@2:34"}},
		{"BEGIN { } END { } BEGIN { }", []string{"multiple_begin_end@1:19"}},
	} {
		prog, err := Parse("", tt.src)
		if err != nil {
			t.Errorf("%q: %v", tt.src, err)
			continue
		}
		var got []string
		for _, u := range Features(prog) {
			got = append(got, fmt.Sprintf("%s@%d:%d", u.Feature, u.Node.Pos().Line, u.Node.Pos().Column))
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%q:\n got %v\nwant %v", tt.src, got, tt.want)
		}
	}
}

// TestMacroBodiesAreWalked: bpftrace pastes a macro's body into the probes
// that call it, so a walk of the program must reach the calls inside it, as
// a policy looking for system() relies on.
func TestMacroBodiesAreWalked(t *testing.T) {
	prog, err := Parse("", "macro run($c) { system($c); }\nmacro outer() { run(\"id\") }\nBEGIN { outer(); }")
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	Inspect(prog, func(n Node) bool {
		if c, ok := n.(*Call); ok {
			calls = append(calls, fmt.Sprintf("%s@%d", c.Name, c.Pos().Line))
		}
		return true
	})
	if got, want := strings.Join(calls, " "), "system@1 run@2 outer@3"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// TestFeaturesNeedNewerThan017: everything Features reports is something
// 0.17 lacks, according to the table.
func TestFeaturesNeedNewerThan017(t *testing.T) {
	v017 := version.Version{Minor: 17}
	for _, f := range version.Facts() {
		if v017.Has(f.Feature) {
			t.Errorf("%s is dated %v, not after 0.17", f.Feature, f.Since)
		}
	}
}

// TestValidCorpusIs017: the programs of testdata/valid are written for
// bpftrace 0.17, which accepts them; Features finds nothing newer in them.
func TestValidCorpusIs017(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.bt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid corpus: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := Parse("stdin", string(src))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, u := range Features(prog) {
			t.Errorf("%s:%d: uses %s, which 0.17 lacks", f, u.Node.Pos().Line, u.Feature)
		}
	}
}
