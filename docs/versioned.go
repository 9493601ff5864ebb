package docs

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// The content of this package is written once, in the spelling of bpftrace
// 0.17. What is served goes through the functions below, which put it into
// the spelling of the bpftrace in use (see [lang.Respell]) and say what that
// release has, from the version table. A zero version serves the content as
// written.

// ReferenceFor returns [Reference] for bpftrace release v: its programs in
// v's spelling, after a section that lists what v has and lacks compared
// with 0.17, from the version table.
func ReferenceFor(v version.Version) string {
	ref := respellCode(Reference(), v)
	if v.IsZero() {
		return ref
	}
	// The version section goes after the introduction, before the first
	// "## " section.
	i := strings.Index(ref, "\n## ")
	if i < 0 {
		return ref + "\n" + versionSection(v)
	}
	return ref[:i+1] + versionSection(v) + ref[i:]
}

// versionSection renders the version table for release v.
func versionSection(v version.Version) string {
	var has, lacks strings.Builder
	for _, f := range version.Facts() {
		line := fmt.Sprintf("- %s (%s): %s.\n", f.Name, f.Since.Short(), f.Note)
		if v.Has(f.Feature) {
			has.WriteString(line)
		} else {
			lacks.WriteString(line)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## The bpftrace in use: %s\n\n", v)
	b.WriteString("The programs on this page are written for it. ")
	if has.Len() > 0 {
		b.WriteString("What it has that 0.17 lacks:\n\n" + has.String() + "\n")
	} else {
		b.WriteString("It has none of the later additions.\n\n")
	}
	if lacks.Len() > 0 {
		b.WriteString("What later releases add, which it lacks (do not write it here):\n\n" + lacks.String() + "\n")
	}
	return b.String()
}

// ExamplesFor returns [Examples] with each program in the spelling of
// bpftrace release v.
func ExamplesFor(v version.Version) []Example {
	exs := Examples()
	for i := range exs {
		exs[i].Program = lang.Respell(exs[i].Program, v)
	}
	return exs
}

// RenderFor is [Guide.Render] for bpftrace release v: the programs in the
// guide's text are in v's spelling.
func (g Guide) RenderFor(v version.Version, args map[string]string) (string, error) {
	text, err := g.Render(args)
	if err != nil {
		return "", err
	}
	return respellCode(text, v), nil
}

// codeBlock matches a fenced code block of Markdown, its fences on lines of
// their own (indented in lists), and captures the code.
var codeBlock = regexp.MustCompile("(?ms)^[ \t]*```[a-z]*\n(.*?)^[ \t]*```")

// respellCode respells the programs in the fenced code blocks of a
// Markdown text.
func respellCode(text string, v version.Version) string {
	if v.IsZero() {
		return text
	}
	var b strings.Builder
	last := 0
	for _, m := range codeBlock.FindAllStringSubmatchIndex(text, -1) {
		b.WriteString(text[last:m[2]])
		b.WriteString(lang.Respell(text[m[2]:m[3]], v))
		last = m[3]
	}
	b.WriteString(text[last:])
	return b.String()
}
