package mcpserver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
)

// TestTypedMaps follows one map schema from validation through the runner
// to the decoder and the client: syscall ids become names, numeric keys
// stay numbers, text keys stay text, histograms carry their percentiles,
// and avg() maps say so, with their count and total.
func TestTypedMaps(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	var ex execOut
	text, isErr := call(t, cs, "exec_program", map[string]any{
		"program": `tracepoint:raw_syscalls:sys_enter { @sys[args->id] = count(); @p[pid, comm] = count(); @h = hist(args->id); @a = avg(args->id); }
interval:ms:1500 { exit(); }`,
		"timeout": 10,
	}, &ex)
	if isErr {
		t.Fatal(text)
	}
	out := waitDone(t, cs, ex.ExecutionID)
	if out.Status != "completed" {
		t.Fatalf("run %s: %s", out.Status, out.ErrorMessage)
	}
	maps := map[string]*output.Map{}
	total := map[string]int{} // entries the map has; the answer may hold fewer
	for _, m := range out.Maps {
		maps[m.Name] = &m.Map
		total[m.Name] = m.EntriesTotal
	}
	for _, name := range []string{"@sys", "@p", "@h", "@a"} {
		if maps[name] == nil || len(maps[name].Entries) == 0 {
			t.Fatalf("map %s missing or empty: %+v", name, out.Maps)
		}
	}
	// Syscall names: every process makes some syscall this table knows.
	named := 0
	for _, e := range maps["@sys"].Entries {
		if s, ok := e.Key[0].(string); ok && s != "" && !strings.ContainsAny(s[:1], "0123456789") {
			named++
		}
	}
	if named == 0 {
		t.Errorf("no syscall named in @sys: %+v", maps["@sys"].Entries)
	}
	if s := maps["@sys"].Summary; s == nil || s.Keys != total["@sys"] || s.Sum == nil || *s.Sum <= 0 || s.Max == nil {
		t.Errorf("@sys summary %+v", s)
	}
	for _, e := range maps["@p"].Entries {
		if _, ok := e.Key[0].(int64); !ok {
			t.Errorf("pid key %#v is not a number", e.Key[0])
		}
		if _, ok := e.Key[1].(string); !ok {
			t.Errorf("comm key %#v is not text", e.Key[1])
		}
	}
	if h := maps["@h"].Entries[0].Summary; h == nil || h.Count == 0 || h.P50 == nil || h.P99 == nil || *h.P50 > *h.P99 {
		t.Errorf("@h summary %+v", h)
	}
	// avg() runs as stats(): its entries carry count and total too, and
	// its text stays avg()'s line, the average alone.
	if a := maps["@a"]; a.Type != output.TypeAvg || a.Entries[0].Stats == nil || a.Entries[0].Stats.Count == 0 {
		t.Errorf("@a is %+v, want type avg with count, average and total", a)
	} else if !strings.Contains(strings.Join(out.Output, "\n"), fmt.Sprintf("@a: %d", a.Entries[0].Stats.Average)) {
		t.Errorf("text lacks avg()'s line @a: %d", a.Entries[0].Stats.Average)
	}
	// The text output is still bpftrace's: syscall ids as numbers.
	joined := strings.Join(out.Output, "\n")
	if !strings.Contains(joined, "@sys[") || strings.Contains(joined, "@sys[read]") {
		t.Errorf("text output changed: %.500s", joined)
	}
	// On the wire: pids are JSON numbers.
	var raw struct {
		Maps []struct {
			Name    string
			Entries []struct{ Key []any }
		}
	}
	call(t, cs, "get_result", map[string]any{"execution_id": ex.ExecutionID}, &raw)
	for _, m := range raw.Maps {
		if m.Name != "@p" {
			continue
		}
		for _, e := range m.Entries {
			if _, ok := e.Key[0].(float64); !ok {
				t.Errorf("pid on the wire: %#v", e.Key)
			}
		}
	}
}
