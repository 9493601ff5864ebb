package output

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
)

var update = flag.Bool("update", false, "re-record testdata/*.json and *.txt by running bpftrace (needs root)")

// program is a deterministic bpftrace program under testdata/, recorded in
// both output modes: <name>.json is the stdout of `bpftrace -f json`,
// <name>.txt the stdout of text mode without the "Attaching" line.
type program struct {
	name string
	args []string // bpftrace flags before the program file
	// schema is what the server knows from the program's source.
	schema Schema
	// live marks the programs the integration test runs.
	live bool
}

func (p program) path() string { return filepath.Join("testdata", p.name+".bt") }

// decoder returns a fresh decoder with the program's hints.
func (p program) decoder() *Decoder {
	return &Decoder{Schema: p.schema}
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
	{name: "strings", live: true},
	{
		name: "values",
		schema: Schema{
			"@bits": {Name: "@bits", Type: TypeValue, Value: ValueArray},
			"@sym":  {Name: "@sym", Type: TypeValue, Value: ValueKsym},
			"@ip":   {Name: "@ip", Type: TypeValue, Value: ValueInet},
		},
	},
	{
		name: "cleared",
		schema: typesOnly(map[string]MapType{
			"@a": TypeAvg, "@c": TypeValue, "@d": TypeValue, "@e": TypeValue,
			"@h": TypeHist, "@k": TypeHist, "@s": TypeStats, "@z": TypeValue,
			"@l": TypeLhist, "@keep": TypeValue, "@zz": TypeValue, "@zzz": TypeValue,
		}),
		live: true,
	},
	{
		name: "messages",
		args: []string{"--unsafe", "-c", "/bin/true a b"},
		live: true,
	},
}

// typesOnly is a schema that gives only the maps' types.
func typesOnly(types map[string]MapType) Schema {
	s := Schema{}
	for name, t := range types {
		s[name] = MapSchema{Name: name, Type: t}
	}
	return s
}

// TestGolden decodes each recorded JSON stream and compares the
// concatenated Text of its events with the recorded text-mode output.
func TestGolden(t *testing.T) {
	var b *bpftrace.Binary
	if *update {
		b = requireBpftrace(t)
	}
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			jsonPath := filepath.Join("testdata", p.name+".json")
			textPath := filepath.Join("testdata", p.name+".txt")
			if *update {
				js, text := record(t, b, p)
				writeFile(t, jsonPath, js)
				writeFile(t, textPath, text)
			}
			js := readFile(t, jsonPath)
			want := readFile(t, textPath)
			got, _ := decodeStream(t, p.decoder(), js)
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("text mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGoldenWithoutHints checks what the schema is for: without it, the
// programs that need one do not come out exactly.
func TestGoldenWithoutHints(t *testing.T) {
	for _, p := range programs {
		if p.schema == nil {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			js := readFile(t, filepath.Join("testdata", p.name+".json"))
			want := readFile(t, filepath.Join("testdata", p.name+".txt"))
			if got, _ := decodeStream(t, &Decoder{}, js); got == string(want) {
				t.Errorf("%s decodes exactly without hints; drop its schema from the table", p.name)
			}
		})
	}
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
