package store

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkAppendOutput stores 4096-line chunks of ~60-byte lines into one
// execution in a database file, as a busy trace streams them. It reports
// lines/s and MB/s of line text.
func BenchmarkAppendOutput(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"), nil)
	mustCreate(b, db, &Execution{ID: "x"})
	lines := make([]string, 4096)
	size := 0
	for i := range lines {
		lines[i] = sampleLine(i)
		size += len(lines[i])
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	var first int64
	for b.Loop() {
		next := first + int64(len(lines))
		if err := db.AppendOutput(ctx, "x", first, lines, OutputCounters{LinesTotal: next}); err != nil {
			b.Fatal(err)
		}
		first = next
	}
	b.ReportMetric(float64(first)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkReadOutputPage reads a 1000-line page at a random offset of a
// 1,000,000-line execution. ns/op is the median of the reads, not the mean;
// p99-ns/op is the 99th percentile.
func BenchmarkReadOutputPage(b *testing.B) {
	const total = 1_000_000
	ctx := context.Background()
	db := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"), nil)
	appendBig(b, db, "big", total)
	rng := rand.New(rand.NewPCG(1, 2))
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		offset := rng.Int64N(total - 1000)
		start := time.Now()
		lines, err := db.ReadOutput(ctx, "big", offset, 1000, 1<<20)
		times = append(times, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(lines) != 1000 {
			b.Fatalf("ReadOutput(%d) returned %d lines, want 1000", offset, len(lines))
		}
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "ns/op")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns/op")
}
