package validate

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

func TestAnalyseMaps(t *testing.T) {
	k := func(kinds ...output.KeyKind) []output.KeyKind { return kinds }
	for _, tt := range []struct {
		name string
		src  string
		want output.Schema
	}{
		{
			name: "types and key kinds",
			src: `kprobe:vfs_read { @c[comm, pid] = count(); @a[cpu] = avg(arg2); @s = stats(arg2);
  @h[kstack] = hist(arg2); @l = lhist(arg2, 0, 100, 10); @x[$v, "lit", 3] = sum(1); @n++; }`,
			want: output.Schema{
				"@c": {Name: "@c", Type: output.TypeValue, Keys: k(output.KeyString, output.KeyInt), Agg: output.AggCount},
				"@a": {Name: "@a", Type: output.TypeAvg, Keys: k(output.KeyInt), Agg: output.AggAvg},
				"@s": {Name: "@s", Type: output.TypeStats, Agg: output.AggStats},
				"@h": {Name: "@h", Type: output.TypeHist, Keys: k(output.KeyStack), Agg: output.AggHist},
				"@l": {Name: "@l", Type: output.TypeLhist, Agg: output.AggLhist},
				"@x": {Name: "@x", Type: output.TypeValue, Keys: k(output.KeyAny, output.KeyString, output.KeyInt), Agg: output.AggSum},
				"@n": {Name: "@n", Type: output.TypeValue, Agg: output.AggSum},
			},
		},
		{
			name: "syscall ids of raw_syscalls only",
			src: `tracepoint:raw_syscalls:sys_enter { @[args->id] = count(); }
tracepoint:irq:irq_handler_entry { @irq[args->irq] = count(); }
tracepoint:raw_syscalls:sys_exit, kprobe:f { @mixed[args->id] = count(); }`,
			want: output.Schema{
				"@":      {Name: "@", Type: output.TypeValue, Keys: k(output.KeySyscall), Agg: output.AggCount},
				"@irq":   {Name: "@irq", Type: output.TypeValue, Keys: k(output.KeyAny), Agg: output.AggCount},
				"@mixed": {Name: "@mixed", Type: output.TypeValue, Keys: k(output.KeyAny), Agg: output.AggCount},
			},
		},
		{
			name: "value kinds; a later aggregation wins; differing key kinds are untyped",
			src: `BEGIN { @m[1] = 0; @st = kstack; @sym = ksym(0); @ip = ntop(0) }
kprobe:f { @m[comm] = hist(1); }`,
			want: output.Schema{
				"@m":   {Name: "@m", Type: output.TypeHist, Keys: k(output.KeyAny), Agg: output.AggHist},
				"@st":  {Name: "@st", Type: output.TypeValue, Value: output.ValueKstack},
				"@sym": {Name: "@sym", Type: output.TypeValue, Value: output.ValueKsym},
				"@ip":  {Name: "@ip", Type: output.TypeValue, Value: output.ValueInet},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := lang.Parse("test.bt", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, analyseMaps(prog)); diff != "" {
				t.Errorf("schema mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
