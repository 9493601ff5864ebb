package output

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

var update = flag.Bool("update", false,
	"record the programs' testdata/recorded/bpftrace-VERSION/NAME.json and .txt by running the bpftrace under test (BPFTRACE_MCP_TEST_BPFTRACE; needs root)")

// program is a deterministic bpftrace program under testdata/, recorded
// from each real release in both output modes: NAME.json is the stdout of
// `bpftrace -f json`, NAME.txt the stdout of text mode without the
// "Attaching" line, both under testdata/recorded/bpftrace-VERSION/.
type program struct {
	name string
	args []string // bpftrace flags before the program file
	// schema is what the server knows from the program's source.
	schema Schema
	// live marks the programs the integration test runs.
	live bool
}

func (p program) path() string { return filepath.Join("testdata", p.name+".bt") }

// decoder returns a fresh decoder with the program's hints, for the stream
// of release v.
func (p program) decoder(v version.Version) *Decoder {
	return &Decoder{Schema: p.schema, Release: v}
}

var programs = []program{
	{name: "scalars", live: true},
	{name: "hist", live: true},
	{name: "bars"},
	{
		name:   "lhist",
		schema: Schema{"@step1": {Name: "@step1", Type: TypeLhist}},
		live:   true,
	},
	{
		name:   "keys",
		schema: Schema{"@comma": {Name: "@comma", Type: TypeValue, Keys: []KeyKind{KeyAny, KeyAny}}},
	},
	{
		name:   "strings",
		schema: Schema{"@b": {Name: "@b", Type: TypeValue, Value: ValueBuf}},
		live:   true,
	},
	{
		name: "values",
		schema: Schema{
			"@bits": {Name: "@bits", Type: TypeValue, Value: ValueArray},
			"@sym":  {Name: "@sym", Type: TypeValue, Value: ValueKsym, Keys: []KeyKind{KeyAny}},
			"@ip":   {Name: "@ip", Type: TypeValue, Value: ValueInet, Keys: []KeyKind{KeyAny}},
			// A struct, which 0.27 writes like a keyed map's entries.
			"@rec": {Name: "@rec", Type: TypeValue},
		},
	},
	{
		name: "cleared",
		schema: typesOnly(map[string]MapType{
			"@a": TypeAvg, "@c": TypeValue, "@e": TypeValue, "@h": TypeHist,
			"@s": TypeStats, "@l": TypeLhist, "@keep": TypeValue, "@zz": TypeValue,
		}, map[string]MapType{"@d": TypeValue, "@k": TypeHist, "@z": TypeValue, "@zzz": TypeValue}),
		live: true,
	},
	{
		name: "messages",
		args: []string{"--unsafe", "-c", "/bin/true a b"},
		live: true,
	},
}

// typesOnly is a schema that gives only the maps' types, and of keyed
// that they have a one-part key.
func typesOnly(plain, keyed map[string]MapType) Schema {
	s := Schema{}
	for name, t := range plain {
		s[name] = MapSchema{Name: name, Type: t}
	}
	for name, t := range keyed {
		s[name] = MapSchema{Name: name, Type: t, Keys: []KeyKind{KeyAny}}
	}
	return s
}

// TestGolden decodes the JSON stream each release printed for each program
// and compares the concatenated Text of its events with what the same
// release printed in text mode (see [sameText]). With -update it first
// records the programs with the bpftrace under test.
func TestGolden(t *testing.T) {
	if *update {
		b := requireBpftrace(t)
		dir := recordedDir(b.Version)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range programs {
			js, text := record(t, b, p)
			writeFile(t, filepath.Join(dir, p.name+".json"), js)
			writeFile(t, filepath.Join(dir, p.name+".txt"), text)
		}
	}
	for dir, v := range recordedReleases(t) {
		t.Run(v.String(), func(t *testing.T) {
			for _, p := range programs {
				t.Run(p.name, func(t *testing.T) {
					t.Parallel()
					js := readFile(t, filepath.Join(dir, p.name+".json"))
					want := readFile(t, filepath.Join(dir, p.name+".txt"))
					got, events := decodeStream(t, p.decoder(v), js)
					checkKnown(t, events)
					if diff := textDiff(v, string(want), got); diff != "" {
						t.Errorf("text mismatch (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

// TestGoldenWithoutHints checks what the schema is for: without it, the
// programs that need one do not come out right from at least one release.
func TestGoldenWithoutHints(t *testing.T) {
	releases := recordedReleases(t)
	for _, p := range programs {
		if p.schema == nil {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			for dir, v := range releases {
				js := readFile(t, filepath.Join(dir, p.name+".json"))
				want := readFile(t, filepath.Join(dir, p.name+".txt"))
				if got, _ := decodeStream(t, &Decoder{Release: v}, js); textDiff(v, string(want), got) != "" {
					return
				}
			}
			t.Errorf("%s decodes right without hints from every release; drop its schema from the table", p.name)
		})
	}
}

// checkKnown fails the test for a record the decoder did not recognise.
func checkKnown(t *testing.T, events []Event) {
	t.Helper()
	for _, ev := range events {
		if ev.Kind == KindUnknown {
			t.Errorf("record of type %q not decoded: %s", ev.Type, ev.Raw)
		}
	}
}

// textDiff compares what the decoder rendered, got, with what text mode of
// release v printed, want, and returns the difference or "". Text renders
// 0.17's text mode byte for byte, so 0.17's is compared exactly. Later
// releases lay the same content out differently (measured on 0.23.2 and
// 0.27.1): no space after a histogram's "@name:", stats() as a record
// "{ .count = 3, .average = 8, .total = 25 }", lhist buckets of width one
// as "[N]", other blank lines (0.24 and later print the two that begin the
// exit-time dump in text mode only), a newline between ksym() and ntop()
// entries, which 0.17 runs together, and the entries of a map in another
// order (0.27 sorts them neither by value nor the same way from one run to
// the next, in either mode). So for them the content is compared: the same
// lines, each with those differences written one way.
func textDiff(v version.Version, want, got string) string {
	if !v.Within("0.17", "0.18") {
		want, got = layoutFree(want), layoutFree(got)
	}
	return cmp.Diff(want, got)
}

var (
	spaces      = regexp.MustCompile(`[ \t]+`)
	statsRecord = regexp.MustCompile(`\{ \.count = (-?\d+), \.average = (-?\d+), \.total = (-?\d+) \}`)
	unitBucket  = regexp.MustCompile(`^\[(\d+), (\d+)\)`)
	runTogether = regexp.MustCompile(`(\S)(@\w*(?:\[[^\]\n]*\])?: )`)
)

// layoutFree is text without the layout that differs between releases:
// blank lines, runs of spaces, spaces at the ends of lines, entries run
// together, the order of lines, and with stats() and unit lhist buckets in
// one form.
func layoutFree(text string) string {
	var out []string
	text = runTogether.ReplaceAllString(text, "$1\n$2")
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(spaces.ReplaceAllString(line, " "))
		if line == "" {
			continue
		}
		line = statsRecord.ReplaceAllString(line, "count $1, average $2, total $3")
		if m := unitBucket.FindStringSubmatch(line); m != nil {
			lo, _ := strconv.Atoi(m[1])
			if hi, _ := strconv.Atoi(m[2]); hi == lo+1 {
				line = "[" + m[1] + "]" + line[len(m[0]):]
			}
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// decodeStream decodes every line of a recording and returns the
// concatenated Text, [Decoder.End] included, with the events.
func decodeStream(t *testing.T, d *Decoder, stream []byte) (string, []Event) {
	t.Helper()
	var (
		text   bytes.Buffer
		events []Event
	)
	lines := bytes.Split(stream, []byte("\n"))
	if n := len(lines); lines[n-1] == nil || len(lines[n-1]) == 0 {
		lines = lines[:n-1] // the newline ending the last line
	}
	for i, line := range lines {
		ev, err := d.Decode(line)
		if err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		text.WriteString(ev.Text)
		events = append(events, ev)
	}
	if ev, ok := d.End(); ok {
		text.WriteString(ev.Text)
		events = append(events, ev)
	}
	return text.String(), events
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
