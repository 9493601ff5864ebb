package docs

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// knownProbeTypes are the probe types a helper may be limited to, named as
// in bpftrace 0.17.
var knownProbeTypes = []string{
	"kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "tracepoint",
	"profile", "interval", "software", "hardware", "kfunc", "kretfunc",
	"watchpoint", "iter", "BEGIN", "END",
}

func TestHelpers017Set(t *testing.T) {
	// The 0.17 set as measured on the target hosts: the documented builtins,
	// functions and map functions, plus what 0.17's semantic analyser accepts
	// without documenting it (debugf, kstack/ustack as functions, args, ctx,
	// username).
	want := map[string][]string{
		KindVariable: {
			"$N", "$#", "argN", "cgroup", "comm", "cpid", "numaid", "cpu", "curtask",
			"elapsed", "func", "gid", "kstack", "nsecs", "pid", "probe", "rand",
			"retval", "sargN", "tid", "uid", "ustack", "args", "ctx", "username",
		},
		KindMapFunction: {"avg", "clear", "count", "delete", "hist", "lhist", "max", "min", "stats", "sum", "zero"},
		KindFunction: {
			"bswap", "buf", "cat", "cgroup_path", "cgroupid", "exit", "join", "kaddr",
			"kptr", "ksym", "macaddr", "ntop", "pton", "override", "reg", "signal",
			"sizeof", "str", "strerror", "strftime", "strncmp", "strcontains", "system",
			"time", "uaddr", "uptr", "usym", "path", "unwatch", "skboutput", "print",
			"printf", "debugf", "kstack", "ustack",
		},
	}
	got := make(map[string][]string)
	for _, h := range Helpers() {
		if h.Since == "0.17" {
			got[h.Kind] = append(got[h.Kind], h.Name)
		}
	}
	for kind := range want {
		slices.Sort(want[kind])
		slices.Sort(got[kind])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("0.17 helpers mismatch (-want +got):\n%s", diff)
	}
}

func TestHelpersNoOverlap(t *testing.T) {
	// A name may appear twice with the same kind only for disjoint release
	// ranges, so that exactly one entry applies to any installed version.
	type key struct{ name, kind string }
	ranges := make(map[key][][2]int)
	for _, h := range Helpers() {
		from, to := minor(t, h.Since), 27
		if h.Until != "" {
			to = minor(t, h.Until)
		}
		k := key{h.Name, h.Kind}
		for _, r := range ranges[k] {
			if from < r[1] && r[0] < to {
				t.Errorf("%s %s: release ranges overlap", h.Kind, h.Name)
			}
		}
		ranges[k] = append(ranges[k], [2]int{from, to})
	}
}

func TestHelpersUnsafe(t *testing.T) {
	var got []string
	for _, h := range Helpers() {
		if h.Unsafe {
			got = append(got, h.Name)
		}
	}
	slices.Sort(got)
	// signal_thread (0.25) is split from signal and, like it, needs --unsafe.
	want := []string{"override", "signal", "signal_thread", "system", "write_user"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unsafe helpers mismatch (-want +got):\n%s", diff)
	}
}

func TestHelpersFields(t *testing.T) {
	for _, h := range Helpers() {
		t.Run(h.Kind+"/"+h.Name, func(t *testing.T) {
			if h.Name == "" || strings.TrimSpace(h.Name) != h.Name {
				t.Errorf("name %q is empty or padded", h.Name)
			}
			if kindOrder(h.Kind) > 2 {
				t.Errorf("kind %q is not one of variable, function, map_function", h.Kind)
			}
			if h.Signature == "" {
				t.Error("signature is empty")
			}
			d := h.Description
			switch {
			case d == "" || strings.TrimSpace(d) != d:
				t.Errorf("description %q is empty or padded", d)
			case strings.ContainsAny(d, "\n\r\t"):
				t.Errorf("description %q is not one line", d)
			case utf8.RuneCountInString(d) > 120:
				t.Errorf("description is %d characters, want at most 120", utf8.RuneCountInString(d))
			case strings.HasSuffix(d, "."):
				t.Errorf("description %q ends with a period; none do", d)
			}
			since := minor(t, h.Since)
			until := 27
			if h.Until != "" {
				if until = minor(t, h.Until); until <= since {
					t.Errorf("Until %s is not after Since %s", h.Until, h.Since)
				}
			}
			for v, note := range h.Notes {
				if n := minor(t, v); n < since || n >= until {
					t.Errorf("note for %s is outside the helper's releases [%s, %s)", v, h.Since, h.Until)
				}
				if note == "" || strings.Contains(note, "\n") {
					t.Errorf("note for %s is empty or not one line", v)
				}
			}
			for _, p := range h.Probes {
				if !slices.Contains(knownProbeTypes, p) {
					t.Errorf("unknown probe type %q", p)
				}
			}
		})
	}
}

func TestHelpersOrder(t *testing.T) {
	hs := Helpers()
	sorted := slices.IsSortedFunc(hs, func(a, b Helper) int {
		if c := kindOrder(a.Kind) - kindOrder(b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if !sorted {
		t.Error("Helpers() is not sorted by kind, then name")
	}
}

func TestHelpersIndependentCopies(t *testing.T) {
	first := Helpers()
	for i := range first {
		if len(first[i].Probes) > 0 {
			first[i].Probes[0] = "changed"
		}
		for v := range first[i].Notes {
			first[i].Notes[v] = "changed"
		}
	}
	for _, h := range Helpers() {
		if slices.Contains(h.Probes, "changed") {
			t.Fatalf("%s: changing one result's Probes changed the next result", h.Name)
		}
		for _, note := range h.Notes {
			if note == "changed" {
				t.Fatalf("%s: changing one result's Notes changed the next result", h.Name)
			}
		}
	}
}

// TestHelpersJSON pins the JSON that list_helpers clients see: field names,
// omitted fields, and the fact that version tags stay out of it.
func TestHelpersJSON(t *testing.T) {
	got, err := json.MarshalIndent(Helpers(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "helpers.json", append(got, '\n'))
}
