package version

import "testing"

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Version
		err  bool
	}{
		{"bpftrace v0.17.0\n", Version{0, 17, 0}, false},
		{"bpftrace v0.23.2-1", Version{0, 23, 2}, false},
		{"v0.20.0-rc1", Version{0, 20, 0}, false},
		{"0.22", Version{0, 22, 0}, false},
		{"bpftrace v0.26.1+git.abc", Version{0, 26, 1}, false},
		{"bpftrace v0.27.1", Version{0, 27, 1}, false},
		{"bpftrace", Version{}, true},
		{"v0.x.1", Version{}, true},
		{"", Version{}, true},
		{"1.2.3.4", Version{}, true},
	} {
		got, err := Parse(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestWithin(t *testing.T) {
	v := Version{0, 22, 1}
	for _, tt := range []struct {
		since, until string
		want         bool
	}{
		{"", "", true},
		{"0.17", "", true},
		{"0.22", "", true},
		{"0.23", "", false},
		{"0.17", "0.22", false},
		{"0.17", "0.23", true},
		{"bad", "", false},
	} {
		if got := v.Within(tt.since, tt.until); got != tt.want {
			t.Errorf("%v.Within(%q, %q) = %v, want %v", v, tt.since, tt.until, got, tt.want)
		}
	}
}

// TestTable pins the release of every feature against bpftrace's CHANGELOG
// and its source at the release tags. A change here is a change of fact:
// cite where it comes from.
func TestTable(t *testing.T) {
	want := map[Feature]string{
		RawTracepoint:     "0.18", // 0.18.0 Added: rawtracepoint probe type
		ArgsStruct:        "0.19", // 0.19.0 Changed: Make args a structure
		ConfigBlock:       "0.20", // 0.20.0 Added: New config block syntax (lexer gains "config")
		FentryNames:       "0.20", // 0.20.0 Added: fentry/fexit aliases for kfunc/kretfunc
		Subprograms:       "0.21", // the lexer gains "fn" at v0.21.0
		ForMap:            "0.21", // 0.21.0 Added: for-each loops over map elements
		ExitCode:          "0.21", // 0.21.0 Added: call exit() with an exit code
		AggregateReads:    "0.21", // 0.21.0 Changed: count, sum, min and max map reads in kernel space (implicit casting)
		LetDecl:           "0.22", // 0.22.0 Added: Variable declarations with let
		DryRun:            "0.22", // 0.22.0 Added: --dry-run; Changed: -d takes a stage
		ForRange:          "0.24", // 0.24.0 Added: For loops now support .. ranges
		NestedBlocks:      "0.24", // 0.24.0 Added: simple block expressions; 0.23.2 rejects a bare { (recorded)
		OptionalParens:    "0.25", // the grammar gains cond_expr and FOR var ":" at v0.25.0 (the CHANGELOG files #4503 under 0.24)
		LowercaseBeginEnd: "0.24", // 0.24.0 Changed: provider names case-insensitive; probe_types.h has "begin"
		Macros:            "0.24", // 0.24.0 Added: hygienic macros (unstable); 0.25.0 stabilized
		MapDecl:           "0.24", // 0.24.0 Added: map declarations (unstable); 0.25.0 stabilized
		Imports:           "0.24", // 0.24.0 lexer gains "import"; 0.26.0 Changed: stabilize root imports
		AttachedNotice:    "0.24", // 0.24.0 Changed: "Attached N probes", non-script output on stderr
		JSONRecords:       "0.24", // 0.24.0: null for unknown types, tseries, errorf, runtime_error
		MultipleBeginEnd:  "0.25", // 0.25.0 Added: multiple begin & end probes
		CapabilityCheck:   "0.25", // 0.25.0 Changed: root check replaced by capability check
		CodegenMode:       "0.27", // checked on 0.27.1: -d ast --mode codegen loads nothing
	}
	facts := Facts()
	if len(facts) != len(want) {
		t.Errorf("the table has %d rows, the test pins %d: pin the new ones", len(facts), len(want))
	}
	for _, f := range facts {
		if got := f.Since.Short(); got != want[f.Feature] {
			t.Errorf("%s: since %s, want %s", f.Feature, got, want[f.Feature])
		}
		if f.Name == "" || f.Note == "" || f.Kind == 0 {
			t.Errorf("%s: incomplete row %+v", f.Feature, f)
		}
		if !f.Stable.IsZero() && (f.Unstable == "" || f.Stable.Compare(f.Since) <= 0) {
			t.Errorf("%s: stable %v without a flag, or not after %v", f.Feature, f.Stable, f.Since)
		}
	}
}

func TestHas(t *testing.T) {
	for _, tt := range []struct {
		v        Version
		f        Feature
		has, uns bool
	}{
		{Version{0, 17, 0}, ArgsStruct, false, false},
		{Version{0, 19, 0}, ArgsStruct, true, false},
		{Version{0, 23, 2}, LowercaseBeginEnd, false, false},
		{Version{0, 24, 2}, LowercaseBeginEnd, true, false},
		{Version{0, 23, 2}, Macros, false, false},
		{Version{0, 24, 0}, Macros, true, true},
		{Version{0, 25, 0}, Macros, true, false},
		{Version{0, 27, 1}, MapDecl, true, false},
		{Version{}, RawTracepoint, false, false},
	} {
		if got := tt.v.Has(tt.f); got != tt.has {
			t.Errorf("%v.Has(%s) = %v", tt.v, tt.f, got)
		}
		if got := tt.v.Unstable(tt.f); got != tt.uns {
			t.Errorf("%v.Unstable(%s) = %v", tt.v, tt.f, got)
		}
	}
	if ok, since := (Version{0, 21, 0}).Supports(ConfigBlock); !ok || since != "0.20" {
		t.Errorf("Supports(ConfigBlock) = %v, %q", ok, since)
	}
	if got := (Version{0, 17, 0}).Features(); len(got) != 0 {
		t.Errorf("0.17 features: %v", got)
	}
}

func TestLookupPanicsOnZero(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Lookup(0) did not panic")
		}
	}()
	Lookup(0)
}

func TestFactsOldestFirst(t *testing.T) {
	facts := Facts()
	for i := 1; i < len(facts); i++ {
		if facts[i].Since.Compare(facts[i-1].Since) < 0 {
			t.Errorf("%s (%v) listed after %s (%v)", facts[i].Feature, facts[i].Since, facts[i-1].Feature, facts[i-1].Since)
		}
	}
}
