package fleet

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
)

// mergeSchema is the schema of the program the simulated nodes ran: one
// map of each aggregation, keyed by process name.
var mergeSchema = output.Schema{
	"@calls": {Name: "@calls", Type: output.TypeValue, Agg: output.AggCount},
	"@bytes": {Name: "@bytes", Type: output.TypeValue, Agg: output.AggSum},
	"@least": {Name: "@least", Type: output.TypeValue, Agg: output.AggMin},
	"@most":  {Name: "@most", Type: output.TypeValue, Agg: output.AggMax},
	"@avg":   {Name: "@avg", Type: output.TypeAvg, Agg: output.AggAvg},
	"@stats": {Name: "@stats", Type: output.TypeStats, Agg: output.AggStats},
	"@lat":   {Name: "@lat", Type: output.TypeHist, Agg: output.AggHist},
}

// simulatedNodes makes n nodes' final maps as agents return them: each node
// has keys keys per map, drawn from a pool half again as large, so that
// most keys (daemons every node runs) meet on many nodes and some are a
// node's own. Histograms have 8 to 24 power-of-two bars. It returns the
// maps as the gateway decodes them, and the time their decoding from the
// JSON the gateway receives took.
func simulatedNodes(n, keys int) ([]NodeMaps, time.Duration) {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(keys)))
	pool := keys * 3 / 2
	nodes := make([]NodeMaps, n)
	var decode time.Duration
	for i := range nodes {
		nm := NodeMaps{Node: "node-" + strconv.Itoa(i)}
		picked := rng.Perm(pool)[:keys]
		for _, name := range []string{"@calls", "@bytes", "@least", "@most", "@avg", "@stats", "@lat"} {
			s := mergeSchema[name]
			m := &output.Map{Name: name, Type: s.Type}
			for _, k := range picked {
				e := output.Entry{Key: []any{"proc-" + strconv.Itoa(k)}}
				v := rng.Int64N(1 << 20)
				switch s.Agg {
				case output.AggAvg, output.AggStats:
					c := 1 + rng.Int64N(1000)
					e.Stats = &output.Stats{Count: c, Total: c * v, Average: v}
				case output.AggHist:
					lo := rng.IntN(8)
					for b := lo; b < lo+8+rng.IntN(17); b++ {
						bmin, bmax := int64(1)<<b, int64(1)<<(b+1)-1
						e.Buckets = append(e.Buckets, output.Bucket{Min: &bmin, Max: &bmax, Count: uint64(1 + rng.IntN(500))})
					}
				default:
					e.Value = v
				}
				m.Entries = append(m.Entries, e)
			}
			nm.Maps = append(nm.Maps, m)
		}
		b, err := json.Marshal(nm.Maps)
		if err != nil {
			panic(err)
		}
		// Decoded back, the maps are exactly what the gateway holds.
		var back []*output.Map
		begin := time.Now()
		if err := json.Unmarshal(b, &back); err != nil {
			panic(err)
		}
		decode += time.Since(begin)
		nm.Maps = back
		nodes[i] = nm
	}
	return nodes, decode
}

// heapNow is the live heap after a full collection.
func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMergeNodes: merging the final maps of 100 and 1,000 simulated
// agents, seven maps of 300 keys each (count, sum, min, max, avg, stats,
// hist). Besides ns/op and allocations it reports, in the same run:
//   - decode-ns and merge/decode: decoding the same nodes' maps from JSON,
//     which the gateway does for every node anyway, as the baseline;
//   - input-MiB: the live heap the nodes' decoded maps hold;
//   - peak-MiB: the most the merge adds to the heap (everything it
//     allocates, measured with the collector off, so nothing is freed);
//   - result-MiB: what the merged maps keep after the merge.
func BenchmarkMergeNodes(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			const keys = 300
			base := heapNow()
			nodes, decode := simulatedNodes(n, keys)
			input := heapNow() - base

			// One merge with the collector off: its whole allocation is
			// the most it can add to the heap at once.
			before := heapNow()
			gc := debug.SetGCPercent(-1)
			var ms0 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			merged := MergeNodes(mergeSchema, nodes)
			var ms1 runtime.MemStats
			runtime.ReadMemStats(&ms1)
			debug.SetGCPercent(gc)
			peak := ms1.HeapAlloc - ms0.HeapAlloc
			result := heapNow() - before
			checkMerged(b, merged, nodes)
			runtime.KeepAlive(merged)

			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				MergeNodes(mergeSchema, nodes)
			}
			b.StopTimer()
			perOp := b.Elapsed() / time.Duration(b.N)
			const mib = 1 << 20
			b.ReportMetric(float64(decode.Nanoseconds()), "decode-ns")
			b.ReportMetric(float64(perOp)/float64(decode), "merge/decode")
			b.ReportMetric(float64(input)/mib, "input-MiB")
			b.ReportMetric(float64(peak)/mib, "peak-MiB")
			b.ReportMetric(float64(result)/mib, "result-MiB")
			runtime.KeepAlive(nodes)
		})
	}
}

// tally adds map m's @calls counts to calls and its @lat histogram's
// samples to samples.
func tally(m *output.Map, calls *int64, samples *uint64) {
	for _, e := range m.Entries {
		switch m.Name {
		case "@calls":
			*calls += e.Value.(int64)
		case "@lat":
			for _, bk := range e.Buckets {
				*samples += bk.Count
			}
		}
	}
}

// checkMerged makes the benchmark fail if the merge it times were wrong:
// every count added, every histogram's samples kept, every map merged.
func checkMerged(b *testing.B, merged []MergedMap, nodes []NodeMaps) {
	b.Helper()
	var wantCalls int64
	var wantSamples uint64
	for _, n := range nodes {
		for _, m := range n.Maps {
			tally(m, &wantCalls, &wantSamples)
		}
	}
	if len(merged) != len(mergeSchema) {
		b.Fatalf("%d merged maps, want %d", len(merged), len(mergeSchema))
	}
	var calls int64
	var samples uint64
	for _, m := range merged {
		if m.PerNode || m.Nodes != len(nodes) {
			b.Fatalf("%s: per node %v over %d nodes, want merged over %d", m.Name, m.PerNode, m.Nodes, len(nodes))
		}
		tally(m.Map, &calls, &samples)
	}
	if calls != wantCalls || samples != wantSamples {
		b.Fatalf("merged @calls %d (want %d), @lat samples %d (want %d)", calls, wantCalls, samples, wantSamples)
	}
}
