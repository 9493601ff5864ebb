package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTwoServersShareFile runs two handles on one file, as two MCP servers
// started by two clients would, each with several goroutines writing and
// reading at once. Every call must succeed: no "database is locked".
func TestTwoServersShareFile(t *testing.T) {
	const (
		workers = 3  // goroutines per server
		execs   = 4  // executions per goroutine
		chunks  = 8  // chunks per execution
		perLine = 50 // lines per chunk
	)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	servers := []*DB{mustOpen(t, path, nil), mustOpen(t, path, nil)}

	var wg sync.WaitGroup
	errs := make(chan error, len(servers)*workers)
	for s, db := range servers {
		other := servers[1-s]
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- serve(ctx, db, other, fmt.Sprintf("s%d-w%d", s, w), execs, chunks, perLine)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	// Each server sees everything the other wrote.
	for s, db := range servers {
		es, err := db.ListExecutions(ctx, ExecutionFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(es), len(servers)*workers*execs; got != want {
			t.Errorf("server %d lists %d executions, want %d", s, got, want)
		}
		for _, e := range es {
			if e.Status != StatusCompleted || e.LinesStored != chunks*perLine {
				t.Errorf("server %d: %s is %s with %d lines, want completed with %d", s, e.ID, e.Status, e.LinesStored, chunks*perLine)
			}
		}
		audit, err := db.ListAudit(ctx, AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(audit), len(servers)*workers*execs; got != want {
			t.Errorf("server %d lists %d audit entries, want %d", s, got, want)
		}
	}
}

// serve plays one server's worker: it runs executions, streaming their
// output, while reading its own and the other server's results.
func serve(ctx context.Context, db, other *DB, name string, execs, chunks, perLine int) error {
	for i := range execs {
		id := fmt.Sprintf("%s-e%d", name, i)
		if err := db.AddAudit(ctx, &AuditEntry{Action: "exec", ExecutionID: id, Program: id, Decision: DecisionAllowed}); err != nil {
			return err
		}
		if err := db.CreateExecution(ctx, &Execution{ID: id, Program: id, Owner: name}); err != nil {
			return err
		}
		var want []string
		for c := range chunks {
			lines := make([]string, perLine)
			for j := range lines {
				lines[j] = fmt.Sprintf("%s line %d", id, c*perLine+j)
			}
			want = append(want, lines...)
			n := int64(len(want))
			if err := db.AppendOutput(ctx, id, n-int64(perLine), lines, OutputCounters{LinesTotal: n}); err != nil {
				return err
			}
			// Read back through the other server, as a client polling
			// get_result on another connection would.
			got, err := other.ReadOutput(ctx, id, 0, n, 0)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, got); diff != "" {
				return fmt.Errorf("%s: output read by the other server mismatch (-want +got):\n%s", id, diff)
			}
			if _, err := other.ListExecutions(ctx, ExecutionFilter{Status: StatusRunning}); err != nil {
				return err
			}
		}
		if _, err := db.MarkInterrupted(ctx, func(string) bool { return true }, "unused"); err != nil {
			return err
		}
		err := db.UpdateExecution(ctx, id, ExecutionUpdate{Status: ptr(StatusCompleted), EndReason: ptr(EndExit)})
		if err != nil {
			return err
		}
		if err := db.Prune(ctx); err != nil {
			return err
		}
	}
	return nil
}

// helperDBEnv names the database a re-executed test binary works on as a
// second server process.
const helperDBEnv = "STORE_TEST_HELPER_DB"

// TestTwoProcessesShareFile is TestTwoServersShareFile across processes: the
// test binary runs again as a second server, so the two contend through
// SQLite's file locks, not only within one process.
func TestTwoProcessesShareFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	db := mustOpen(t, path, nil)

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDBEnv+"="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- serve(ctx, db, db, fmt.Sprint("parent-w", w), 4, 16, 200)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper server failed: %v\n%s", err, out.Bytes())
	}
	es, err := db.ListExecutions(ctx, ExecutionFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(es), 2*2*4; got != want {
		t.Errorf("listed %d executions, want %d (both processes' work)", got, want)
	}
}

// TestHelperServer is the second process of TestTwoProcessesShareFile.
func TestHelperServer(t *testing.T) {
	path := os.Getenv(helperDBEnv)
	if path == "" {
		t.Skip("helper process for TestTwoProcessesShareFile")
	}
	db := mustOpen(t, path, nil)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(context.Background(), db, db, fmt.Sprint("child-w", w), 4, 16, 200); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
