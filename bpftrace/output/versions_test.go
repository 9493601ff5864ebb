package output

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

var recordFlag = flag.Bool("record", false,
	"record testdata/recorded/bpftrace-VERSION/ by running the bpftrace under test (BPFTRACE_MCP_TEST_BPFTRACE; needs root)")

// recording is a program whose output differs between bpftrace releases,
// recorded from each real release in both output modes, stdout and stderr
// apart: NAME.json, NAME.json.stderr, NAME.txt and NAME.txt.stderr.
type recording struct {
	name  string
	since string   // the first release that has what it shows
	args  []string // flags before the program
	src   string
	// exact marks the recordings whose text-mode stdout the decoded JSON
	// must reproduce byte for byte; the others print times, or the
	// program's source line, which the JSON does not carry.
	exact bool
}

// argsFor returns the flags of r for release v: helper errors of probe
// reads are reported with -kk before 0.23, and with -k since.
func (r recording) argsFor(v version.Version) []string {
	var args []string
	for _, a := range r.args {
		if a == "-k" && !v.AtLeast("0.23") {
			a = "-kk"
		}
		args = append(args, a)
	}
	return args
}

var recordings = []recording{
	{name: "attach", exact: true, src: `BEGIN { printf("hi\n"); @n = 1; exit(); }`},
	{name: "helper-error", args: []string{"-k"},
		src: `BEGIN { @s = str((int8 *)8); exit(); }`},
	{name: "errorf", since: "0.24", exact: true,
		src: `BEGIN { errorf("bad %d", 42); printf("after\n"); exit(); }`},
	{name: "warnf", since: "0.25", exact: true,
		src: `BEGIN { warnf("careful %s", "there"); printf("after\n"); exit(); }`},
	{name: "runtime-error", since: "0.25", exact: true,
		src: "BEGIN {\n  @a[1] = 1;\n  $x = 0;\n  @q = 10 / $x;\n  exit();\n}"},
	{name: "tseries", since: "0.24",
		src: `BEGIN { @ts = tseries(3, 1s, 3); @ts = tseries(5, 1s, 3); @k["a"] = tseries(7, 100ms, 2); exit(); }`},
}

// recordedDir is where the recordings of release v are kept.
func recordedDir(v version.Version) string {
	return filepath.Join("testdata", "recorded", "bpftrace-"+v.String())
}

// TestRecord runs the bpftrace under test on every recording it has the
// features for, and writes what it printed. It runs only with -record.
func TestRecord(t *testing.T) {
	if !*recordFlag {
		t.Skip("records only with -record")
	}
	bin := testenv.Bpftrace(t)
	dir := recordedDir(bin.Version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range recordings {
		if r.since != "" && !bin.Version.AtLeast(r.since) {
			continue
		}
		for _, mode := range []struct {
			ext  string
			args []string
		}{{".json", []string{"-f", "json"}}, {".txt", nil}} {
			stdout, stderr := runRecording(t, bin.Path, append(append(mode.args, r.argsFor(bin.Version)...), "-e", r.src))
			writeFile(t, filepath.Join(dir, r.name+mode.ext), stdout)
			writeFile(t, filepath.Join(dir, r.name+mode.ext+".stderr"), stderr)
		}
	}
}

// runRecording runs bpftrace and returns its stdout and its stderr without
// the lines that depend on the machine rather than on the release.
func runRecording(t *testing.T, path string, args []string) (stdout, stderr []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// Every recording must run: one that fails on a release has to be
	// rewritten, not recorded as a failure.
	if err := cmd.Run(); err != nil {
		t.Fatalf("bpftrace %q: %v\n%s", args, err, errb.Bytes())
	}
	var kept []string
	for _, line := range strings.SplitAfter(errb.String(), "\n") {
		if strings.Contains(line, "RLIMIT_MEMLOCK") || strings.Contains(line, "available_filter_functions") {
			continue
		}
		kept = append(kept, line)
	}
	return out.Bytes(), []byte(strings.Join(kept, ""))
}

// recordedReleases lists the releases with recordings.
func recordedReleases(t *testing.T) map[string]version.Version {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "recorded", "bpftrace-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no recordings under testdata/recorded (%v)", err)
	}
	out := map[string]version.Version{}
	for _, d := range dirs {
		v, err := version.Parse(strings.TrimPrefix(filepath.Base(d), "bpftrace-"))
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		out[d] = v
	}
	return out
}

// TestRecorded decodes what each real release printed: every record must
// decode to a known kind, the exact recordings must come out as text mode
// printed them, and each recording must carry what it was made to show.
func TestRecorded(t *testing.T) {
	for dir, v := range recordedReleases(t) {
		t.Run(v.String(), func(t *testing.T) {
			for _, r := range recordings {
				t.Run(r.name, func(t *testing.T) {
					t.Parallel()
					jsonPath := filepath.Join(dir, r.name+".json")
					if _, err := os.Stat(jsonPath); err != nil {
						if r.since == "" || v.AtLeast(r.since) {
							t.Fatalf("no recording of %s from %s: run go test -run TestRecord -record with that bpftrace", r.name, v)
						}
						return
					}
					text, events := decodeStream(t, &Decoder{Release: v}, readFile(t, jsonPath))
					for _, ev := range events {
						if ev.Kind == KindUnknown {
							t.Errorf("record of type %q not decoded: %s", ev.Type, ev.Raw)
						}
					}
					want := string(readFile(t, filepath.Join(dir, r.name+".txt")))
					stderr := string(readFile(t, filepath.Join(dir, r.name+".txt.stderr")))
					want = checkAttachNotice(t, v, want, stderr, events)
					if !v.Has(version.JSONRecords) {
						// Before 0.24 JSON mode prints the two blank lines
						// that begin the exit-time dump; from 0.24 only text
						// mode does.
					} else {
						want = strings.Replace(want, "\n\n", "", 1)
					}
					if r.exact && text != want {
						t.Errorf("decoded text differs from text mode:\n got %q\nwant %q", text, want)
					}
					checkRecording(t, r.name, v, events, stderr)
				})
			}
		})
	}
}

// checkAttachNotice checks where the release put its attach notice, as the
// version table says, and returns the text-mode stdout without it.
func checkAttachNotice(t *testing.T, v version.Version, stdout, stderr string, events []Event) string {
	t.Helper()
	if len(events) == 0 || events[0].Kind != KindAttachedProbes || events[0].Probes != 1 || events[0].Text != "" {
		t.Errorf("first event %+v, want attached_probes of 1 probe without text", events[0])
	}
	if v.Has(version.AttachedNotice) {
		if !strings.Contains(stderr, "Attached 1 probe\n") || strings.Contains(stdout, "Attach") {
			t.Errorf("%s: want \"Attached 1 probe\" on stderr only; stdout %q, stderr %q", v, stdout, stderr)
		}
		return stdout
	}
	rest, ok := strings.CutPrefix(stdout, "Attaching 1 probe...\n")
	if !ok || strings.Contains(stderr, "Attach") {
		t.Errorf("%s: want \"Attaching 1 probe...\" first on stdout; stdout %q, stderr %q", v, stdout, stderr)
	}
	return rest
}

// checkRecording checks the events a recording was made to show.
func checkRecording(t *testing.T, name string, v version.Version, events []Event, stderr string) {
	t.Helper()
	find := func(k Kind) *Event {
		for i := range events {
			if events[i].Kind == k {
				return &events[i]
			}
		}
		t.Fatalf("no %s event in %+v", k, events)
		return nil
	}
	switch name {
	case "helper-error":
		he := find(KindHelperError).HelperError
		want := HelperError{Helper: "probe_read_str", Retcode: -14, Line: 1, Column: 14}
		if v.AtLeast("0.23") {
			want.Msg = "Bad address"
		}
		if v.Has(version.JSONRecords) {
			want.Filename = "stdin"
		}
		if *he != want {
			t.Errorf("helper error %+v, want %+v", *he, want)
		}
	case "errorf", "warnf", "runtime-error":
		m := find(KindMessage).Message
		want := map[string]struct {
			sev    Severity
			source string
			msg    string
			line   int
			col    int
		}{
			"errorf":        {SeverityError, "errorf", "bad 42", 1, 9},
			"warnf":         {SeverityWarning, "warnf", "careful there", 1, 9},
			"runtime-error": {SeverityWarning, "runtime_error", "Divide or modulo by 0 detected", 4, 8},
		}[name]
		if m.Severity != want.sev || m.Source != want.source || !strings.HasPrefix(m.Msg, want.msg) ||
			m.Filename != "stdin" || m.Line != want.line || m.Column != want.col {
			t.Errorf("message %+v, want %+v", *m, want)
		}
		// Text mode prints it on stderr, with the end column JSON lacks.
		first, _, _ := strings.Cut(m.String(), ": ")
		if !strings.Contains(stderr, first+"-") || !strings.Contains(stderr, m.Msg) {
			t.Errorf("text mode printed %q, we render %q", stderr, m.String())
		}
	case "tseries":
		var got []string
		for _, ev := range events {
			if ev.Kind != KindMap || ev.Map.Type != TypeTseries {
				continue
			}
			for _, e := range ev.Map.Entries {
				points := e.Value.([]TimePoint)
				if len(points) != 1 || !strings.HasPrefix(points[0].Start, "20") {
					t.Errorf("%s%v: points %+v", ev.Map.Name, e.Key, points)
					continue
				}
				got = append(got, fmt.Sprintf("%s%v=%v", ev.Map.Name, e.Key, points[0].Value))
			}
			if !strings.Contains(ev.Text, ev.Map.Name) {
				t.Errorf("text %q does not name the map", ev.Text)
			}
		}
		if strings.Join(got, " ") != "@k[a]=7 @ts[]=5" {
			t.Errorf("tseries %v", got)
		}
	}
}

// TestNewerRecords decodes the records of 0.24 and later in the forms this
// kernel could not be made to print: null values (for what JSON cannot
// represent), a keyed tseries with an empty interval list, and messages
// without a location.
func TestNewerRecords(t *testing.T) {
	for _, tt := range []struct {
		line string
		text string
		kind Kind
	}{
		{`{"type": "map", "data": {"@f": null}}`, "@f: \n", KindMap},
		{`{"type": "map", "data": {"@f": {"a": null, "b": 2}}}`, "@f[a]: \n@f[b]: 2\n", KindMap},
		{`{"type": "value", "data": null}`, "\n", KindText},
		{`{"type": "tseries", "data": {"@t": {"x,1": []}}}`, "@t[x, 1]:\n\n", KindMap},
		{`{"type": "tseries", "data": {"@t": [{"interval_start":"2026-01-01 00:00:01.000000000","value":null}]}}`,
			"@t:\n2026-01-01 00:00:01.000000000 \n\n", KindMap},
		{`{"type": "runtime_error", "msg": "oops"}`, "", KindMessage},
	} {
		var d Decoder
		ev, err := d.Decode([]byte(tt.line))
		if err != nil {
			t.Errorf("%s: %v", tt.line, err)
			continue
		}
		if ev.Kind != tt.kind || ev.Text != tt.text {
			t.Errorf("%s: kind %s text %q, want %s %q", tt.line, ev.Kind, ev.Text, tt.kind, tt.text)
		}
	}
	m := &Message{Severity: SeverityError, Msg: "oops"}
	if got := m.String(); got != "ERROR: oops" {
		t.Errorf("message without a location renders %q", got)
	}
}
