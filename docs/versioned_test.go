package docs

import (
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// servedVersions are the releases content is checked for without running
// bpftrace: the three of the test matrix and the first with args.field.
var servedVersions = []version.Version{{Minor: 17}, {Minor: 19}, {Minor: 23, Patch: 2}, {Minor: 27, Patch: 1}}

// checkSpelling fails when a program served for v uses a feature v lacks,
// or args->field where v prefers args.field.
func checkSpelling(t *testing.T, what, program string, v version.Version) {
	t.Helper()
	prog, _ := lang.Parse("", program)
	if prog == nil {
		return
	}
	for _, u := range lang.Features(prog) {
		if !v.Has(u.Feature) {
			t.Errorf("%s for %s uses %s (from %s) at line %d", what, v, version.Lookup(u.Feature).Name,
				version.Lookup(u.Feature).Since.Short(), u.Node.Pos().Line)
		}
	}
	if !v.Has(version.ArgsStruct) {
		return
	}
	lang.Inspect(prog, func(n lang.Node) bool {
		if f, ok := n.(*lang.Field); ok && f.Arrow {
			if b, ok := f.X.(*lang.Builtin); ok && b.Name == "args" {
				t.Errorf("%s for %s writes args->%s at line %d", what, v, f.Name, f.Pos().Line)
			}
		}
		return true
	})
}

func TestExamplesForVersion(t *testing.T) {
	for _, v := range servedVersions {
		for _, ex := range ExamplesFor(v) {
			checkSpelling(t, "example "+ex.Name, ex.Program, v)
			if _, err := lang.Parse("", ex.Program); err != nil {
				t.Errorf("example %s for %s does not parse: %v", ex.Name, v, err)
			}
		}
	}
	// Respelled, not rewritten: 0.17 is served as written.
	for i, ex := range ExamplesFor(version.Version{Minor: 17}) {
		if ex.Program != Examples()[i].Program {
			t.Errorf("example %s differs for 0.17 from its source", ex.Name)
		}
	}
}

func TestReferenceForVersion(t *testing.T) {
	for _, v := range servedVersions {
		ref := ReferenceFor(v)
		if len(ref) > 25*1024 {
			t.Errorf("reference for %s is %d bytes, want at most 25 KB", v, len(ref))
		}
		if !strings.Contains(ref, "## The bpftrace in use: "+v.String()) {
			t.Errorf("reference for %s does not name the version", v)
		}
		for _, m := range codeBlock.FindAllStringSubmatch(ref, -1) {
			checkSpelling(t, "reference program", m[1], v)
		}
		// Every fact is listed, as had or as lacking.
		for _, f := range version.Facts() {
			if !strings.Contains(ref, "- "+f.Name+" ("+f.Since.Short()+")") {
				t.Errorf("reference for %s does not list %s", v, f.Key)
			}
		}
	}
	if ReferenceFor(version.Version{}) != Reference() {
		t.Error("an unknown version does not get the reference as written")
	}
}

func TestGuidesForVersion(t *testing.T) {
	for _, v := range servedVersions {
		for _, g := range Guides() {
			text, err := g.RenderFor(v, sampleArgs[g.Name])
			if err != nil {
				t.Fatalf("%s: %v", g.Name, err)
			}
			for _, m := range codeBlock.FindAllStringSubmatch(text, -1) {
				checkSpelling(t, "guide "+g.Name, m[1], v)
			}
		}
	}
}
