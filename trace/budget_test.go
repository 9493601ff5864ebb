package trace

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
)

// countMap is a count() map keyed by comm whose entries come in
// bpftrace's order: ascending by value.
func countMap(name string, n int) *output.Map {
	m := &output.Map{Name: name, Type: "value"}
	for i := range n {
		m.Entries = append(m.Entries, output.Entry{Key: []any{fmt.Sprintf("comm-%05d", i)}, Value: int64(i)})
	}
	return m
}

func histMap(name string) *output.Map {
	lo := func(v int64) *int64 { return &v }
	m := &output.Map{Name: name, Type: "hist"}
	for i, c := range []uint64{1, 50, 7} {
		m.Entries = append(m.Entries, output.Entry{Key: []any{fmt.Sprint("k", i)},
			Buckets: []output.Bucket{{Min: lo(0), Max: lo(1), Count: c}, {Min: lo(2), Max: lo(3), Count: c * 2}}})
	}
	return m
}

func newResult(lines, entries int, maps ...*output.Map) *Result {
	r := &Result{ExecutionID: "abc", Status: "completed", EndReason: "timeout", Output: []string{}}
	for i := range lines {
		r.Output = append(r.Output, fmt.Sprintf("line %d: openat(\"/etc/passwd\") -> 3 <tag>", i))
	}
	r.LinesReturned, r.LinesTotal, r.NextOffset = lines, int64(lines), int64(lines)
	if entries > 0 {
		maps = append(maps, countMap("@opens", entries))
	}
	r.Maps = pageMaps(maps, "", 0)
	return r
}

func TestFitKeepsEveryAnswerWithinBudget(t *testing.T) {
	for _, tt := range []struct {
		lines, entries, budget, reserve int
	}{
		{0, 0, 1024, 0},
		{10, 10, 32 << 10, 0},
		{5000, 0, 32 << 10, 0},
		{0, 20000, 32 << 10, 0},
		{3000, 20000, 32 << 10, 0},
		{3000, 20000, 1024, 0},
		{3000, 20000, 64 << 10, 2000},
		{1, 100000, 4096, 0},
	} {
		t.Run(fmt.Sprintf("%d lines %d entries in %d", tt.lines, tt.entries, tt.budget), func(t *testing.T) {
			r := newResult(tt.lines, tt.entries)
			r.fit(tt.budget, tt.reserve)
			if got := r.size(tt.reserve); got > tt.budget {
				t.Fatalf("answer is %d bytes, budget %d", got, tt.budget)
			}
			if len(r.Output) != r.LinesReturned || r.NextOffset != int64(r.LinesReturned) || r.HasMore != (r.LinesReturned < tt.lines) {
				t.Errorf("line counters disagree: %d lines, returned %d, next %d, has_more %v", len(r.Output), r.LinesReturned, r.NextOffset, r.HasMore)
			}
			for _, m := range r.Maps {
				if m.EntriesTotal != tt.entries || m.Truncated != (len(m.Entries) < tt.entries) {
					t.Errorf("%s: %d of %d entries, truncated %v", m.Name, len(m.Entries), m.EntriesTotal, m.Truncated)
				}
			}
			// A large budget is used, not left empty: both parts get room.
			if tt.budget >= 32<<10 && tt.lines >= 50 && tt.entries >= 50 && (r.LinesReturned < 50 || len(r.Maps[0].Entries) < 50) {
				t.Errorf("budget shared badly: %d lines, %d entries", r.LinesReturned, len(r.Maps[0].Entries))
			}
			if tt.budget >= 32<<10 && r.size(tt.reserve) < tt.budget*3/4 && (r.HasMore || r.Maps != nil && r.Maps[0].Truncated) {
				t.Errorf("cut to %d bytes of a %d budget", r.size(tt.reserve), tt.budget)
			}
		})
	}
}

func TestMapsMostSignificantFirst(t *testing.T) {
	r := newResult(0, 0, countMap("@opens", 5000), histMap("@lat"))
	r.fit(8<<10, 0)
	opens, lat := r.Maps[0], r.Maps[1]
	if len(opens.Entries) == 0 || opens.Entries[0].Value != int64(4999) || opens.Entries[1].Value != int64(4998) || !opens.Truncated {
		t.Errorf("@opens not by value, descending: %+v", opens.Entries[:min(3, len(opens.Entries))])
	}
	if len(lat.Entries) != 3 || lat.Entries[0].Key[0] != "k1" || lat.Entries[1].Key[0] != "k2" || lat.Truncated {
		t.Errorf("@lat not by count: %+v", lat.Entries)
	}
	text := r.Text()
	if !strings.Contains(text, `@opens `+fmt.Sprint(len(opens.Entries))+` of 5000 entries (more: get_result map="@opens" map_offset=`) {
		t.Errorf("summary does not say how to read on:\n%s", text[:200])
	}
	if !strings.Contains(text, "[k1]: count 150; [0, 1] 50, [2, 3] 100") {
		t.Errorf("histogram entry:\n%s", text)
	}
}

func TestMapPaging(t *testing.T) {
	maps := []*output.Map{countMap("@opens", 300), histMap("@lat")}
	r := &Result{Output: []string{}, mapOnly: "@opens"}
	r.Maps = pageMaps(maps, "@opens", 100)
	r.fit(32<<10, 0)
	if len(r.Maps) != 1 || r.Maps[0].Offset != 100 || r.Maps[0].Entries[0].Value != int64(199) || len(r.Maps[0].Entries) != 200 || r.Maps[0].Truncated {
		t.Errorf("page of @opens from rank 100: %+v", r.Maps)
	}
}

func TestTextIsNotEscaped(t *testing.T) {
	r := newResult(2, 3)
	text := r.Text()
	for _, want := range []string{
		"execution abc: completed (timeout)",
		">>>\nline 0: openat(\"/etc/passwd\") -> 3 <tag>\n",
		"@opens (value, most significant first):\n  [comm-00002]: 2\n",
		"  [comm-00000]: 0\n<<<end ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, `\u003e`) || strings.Contains(text, `{"`) {
		t.Errorf("text is JSON or escaped:\n%s", text)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"entries_total":3`) || !strings.Contains(string(b), `"truncated":false`) {
		t.Errorf("data: %s", b)
	}
	// A client reads the paging fields back.
	r.Maps[0].Offset, r.Maps[0].Truncated = 1, true
	b, _ = json.Marshal(r.Maps[0])
	var back MapPage
	if err := json.Unmarshal(b, &back); err != nil || back.EntriesTotal != 3 || back.Offset != 1 || !back.Truncated || back.Name != "@opens" || len(back.Entries) != 3 {
		t.Errorf("read back %s: %+v %v", b, back, err)
	}
}

// TestFitBoundsEverything: an answer with every note (lost events, helper
// errors and their advice, dropped lines, a long error, the ending notice,
// the time split) and a dozen maps fits the smallest budget, naming what it
// left out; a larger one keeps the advice.
func TestFitBoundsEverything(t *testing.T) {
	full := func() *Result {
		var maps []*output.Map
		for i := range 12 {
			maps = append(maps, countMap(fmt.Sprintf("@map_number_%02d", i), 10+i))
		}
		r := newResult(3000, 1500, maps...)
		probes, attach := 3, 1.5
		r.ProbesAttached, r.AttachSeconds, r.TracedSeconds = &probes, &attach, 1.5
		r.LostEvents, r.HelperErrors, r.LinesDropped = 228862, 175995, 99
		r.Status, r.Ending = "running", true
		r.ErrorMessage = strings.Repeat("bpftrace said something long. ", 10)
		r.StartedAt = "2026-11-30T23:40:52.071538933Z"
		return r
	}
	for _, tt := range []struct {
		name     string
		edit     func(*Result)
		keepsMap bool
	}{
		{"everything", func(*Result) {}, false},
		{"completed", func(r *Result) { r.Status, r.Ending, r.ErrorMessage = "completed", false, "" }, true},
		{"failed", func(r *Result) { r.Status, r.Ending = "failed", false }, false},
	} {
		r := full()
		tt.edit(r)
		r.fit(minAnswerBytes, 0)
		if got := r.size(0); got > minAnswerBytes {
			t.Fatalf("%s: answer is %d bytes, budget %d:\n%s", tt.name, got, minAnswerBytes, r.Text())
		}
		text := r.Text()
		if r.mapsLeftOut == 0 || !strings.Contains(text, fmt.Sprintf("%d maps left out", r.mapsLeftOut)) ||
			tt.keepsMap && (len(r.Maps) != 1 || r.Maps[0].Name != "@opens") {
			t.Errorf("%s: a small answer keeps the largest map if it can and says what it left out:\n%s", tt.name, text)
		}
		for _, want := range []string{"228862 events lost", "175995 BPF helper errors", "99 lines dropped"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: text lacks %q:\n%s", tt.name, want, text)
			}
		}
		if r.ErrorMessage != "" && !strings.HasPrefix(r.ErrorMessage, "bpftrace said something long.") {
			t.Errorf("%s: error cut to %q", tt.name, r.ErrorMessage)
		}
	}
	r := full()
	r.fit(8<<10, 0)
	if text := r.Text(); !strings.Contains(text, output.HelperErrorAdvice) || r.mapsLeftOut != 0 || r.size(0) > 8<<10 {
		t.Errorf("8 KiB answer of %d bytes lost the advice or maps:\n%s", r.size(0), text)
	}
}
