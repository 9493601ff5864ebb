package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// BenchmarkIngest feeds the output path (decode, split, clean, queue,
// SQLite) with printf records as bpftrace writes them, without bpftrace:
// the server's own cost per line.
func BenchmarkIngest(b *testing.B) {
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	m, err := New(Options{Binary: &bpftrace.Binary{}, Store: db, Owner: "bench:1"})
	if err != nil {
		b.Fatal(err)
	}
	const lines = 200_000
	var data []byte
	for i := range lines {
		data = fmt.Appendf(data, "{\"type\": \"printf\", \"data\": \"event %d pid 1234 comm bash\\n\"}\n", 1_000_000_000+i)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		e := &store.Execution{ID: fmt.Sprintf("b%d", time.Now().UnixNano()), Program: "x", Status: StatusRunning, StartedAt: time.Now(), Owner: "bench:1"}
		if err := db.CreateExecution(context.Background(), e); err != nil {
			b.Fatal(err)
		}
		pr, pw, _ := os.Pipe()
		r := newRun(m, e, &bpftrace.Process{Stdout: pr}, time.Minute, StartRequest{})
		done := make(chan struct{})
		go func() { r.writeLoop(context.Background()); close(done) }()
		go func() { pw.Write(data); pw.Close() }()
		r.readStdout()
		r.sink.close()
		<-done
		pr.Close()
		if n, _, _ := r.sink.totals(); n != lines {
			b.Fatalf("%d lines ingested, want %d", n, lines)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}
