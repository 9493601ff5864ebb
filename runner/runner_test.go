package runner

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// newManager starts a Manager on a fresh database with the real bpftrace.
// It fails the test if any bpftrace it started is still running at the end.
func newManager(t *testing.T, l Limits) (*Manager, *store.DB) {
	t.Helper()
	bin := testenv.Bpftrace(t)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "test.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Options{Binary: bin, Store: db, Limits: l, Owner: testenv.Owner(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if left := testenv.OwnProcesses(t, m.Owner()); len(left) > 0 {
			t.Errorf("processes left running after Close: %v", left)
		}
		db.Close()
	})
	return m, db
}

func start(t *testing.T, m *Manager, program string, timeout time.Duration) string {
	t.Helper()
	e, err := m.Start(context.Background(), StartRequest{Program: program, Timeout: &timeout})
	if err != nil {
		t.Fatalf("Start(%q): %v", program, err)
	}
	return e.ID
}

// waitEnd long-polls until the execution has ended and returns its first page.
func waitEnd(t *testing.T, m *Manager, id string) *Page {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		p, err := m.Result(context.Background(), id, Query{Offset: 1 << 40, Wait: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if p.Execution.Status != StatusRunning {
			p, err = m.Result(context.Background(), id, Query{Limit: 10000, MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("execution %s did not end", id)
	return nil
}

func TestTimeoutKeepsMaps(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, Limits{})
	id := start(t, m, `BEGIN { printf("started\n"); } interval:ms:100 { @ticks = count(); } END { printf("END ran\n"); }`, time.Second)
	p := waitEnd(t, m, id)
	e := p.Execution
	if e.Status != StatusCompleted || e.EndReason != EndTimeout {
		t.Fatalf("status = %s/%s (%s), want completed/timeout", e.Status, e.EndReason, e.ErrorMessage)
	}
	if !slices.Contains(p.Lines, "started") || !slices.Contains(p.Lines, "END ran") {
		t.Errorf("output %q lacks the BEGIN and END lines", p.Lines)
	}
	if !slices.ContainsFunc(p.Lines, func(l string) bool { return strings.HasPrefix(l, "@ticks: ") }) {
		t.Errorf("output %q lacks the map printed at exit", p.Lines)
	}
	if !strings.Contains(e.Maps, `"@ticks"`) {
		t.Errorf("typed maps = %s, want @ticks", e.Maps)
	}
	if d := ExecutionDuration(e, time.Now()); d < time.Second || d > 10*time.Second {
		t.Errorf("duration %s, want about 1s", d)
	}
	if e.ProbesAttached != 3 {
		t.Errorf("probes attached = %d, want 3", e.ProbesAttached)
	}
}

func TestProgramExit(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, Limits{})
	id := start(t, m, `BEGIN { printf("héllo %d\n", 42); exit(); }`, 10*time.Second)
	p := waitEnd(t, m, id)
	if e := p.Execution; e.Status != StatusCompleted || e.EndReason != EndExit {
		t.Fatalf("status = %s/%s, want completed/exit", e.Status, e.EndReason)
	}
	// The two blank lines bpftrace prints at exit are dropped when no map follows.
	if want := []string{"héllo 42"}; !slices.Equal(p.Lines, want) {
		t.Errorf("output = %q, want %q", p.Lines, want)
	}
}

func TestInvalidProgramCreatesNothing(t *testing.T) {
	t.Parallel()
	m, db := newManager(t, Limits{})
	_, err := m.Start(context.Background(), StartRequest{Program: "BEGIN {\n  printf(\"x\" }"})
	var perr *ProgramError
	if !errors.As(err, &perr) {
		t.Fatalf("Start error = %v, want *ProgramError", err)
	}
	d := perr.Diagnostics[0]
	// The wording is bpftrace's own: "syntax error, unexpected }" up to
	// 0.23, "syntax: expected ')'" in 0.27.
	if d.Line != 2 || d.Column != 14 || !strings.Contains(d.Message, "syntax") {
		t.Errorf("diagnostic = %+v, want a syntax error at 2:14", d)
	}
	if es, _ := db.ListExecutions(context.Background(), store.ExecutionFilter{}); len(es) != 0 {
		t.Errorf("%d executions recorded for a rejected program", len(es))
	}
}

func TestUnknownProviderAbortIsAnError(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, Limits{})
	_, err := m.Start(context.Background(), StartRequest{Program: "foo:bar { }"})
	var perr *ProgramError
	if !errors.As(err, &perr) {
		t.Fatalf("Start error = %v, want *ProgramError", err)
	}
	// 0.17 aborts on a probe type it does not know; later releases exit 1.
	if v := testenv.Version(t); !v.AtLeast("0.18") {
		if !perr.Status.Signaled() && perr.Status.Code != 134 {
			t.Errorf("status = %s, want bpftrace %s's SIGABRT", perr.Status, v)
		}
	} else if perr.Status.Signaled() || perr.Status.Code == 0 {
		t.Errorf("status = %s, want bpftrace %s's exit code 1", perr.Status, v)
	}
	if !strings.Contains(perr.Error(), "Invalid probe type") {
		t.Errorf("error %q does not carry bpftrace's message", perr)
	}
}

func TestUnknownIDAndPastEnd(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, Limits{})
	if _, err := m.Result(context.Background(), "nosuchid", Query{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Result(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := m.Stop(context.Background(), "nosuchid"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stop(unknown) error = %v, want ErrNotFound", err)
	}
	id := start(t, m, `BEGIN { printf("a\nb\nc\n"); exit(); }`, 10*time.Second)
	waitEnd(t, m, id)
	for _, tt := range []struct {
		offset, limit int64
		want          []string
		more          bool
	}{
		{0, 2, []string{"a", "b"}, true},
		{1, 0, []string{"b", "c"}, false},
		{3, 10, nil, false},
		{1000, 10, nil, false},
	} {
		p, err := m.Result(context.Background(), id, Query{Offset: tt.offset, Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Lines, tt.want) || p.HasMore != tt.more || p.NextOffset != tt.offset+int64(len(tt.want)) {
			t.Errorf("offset %d limit %d: lines %q more %v next %d; want %q more %v", tt.offset, tt.limit, p.Lines, p.HasMore, p.NextOffset, tt.want, tt.more)
		}
	}
}

func TestStopTwiceAndStopFinished(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, Limits{})
	id := start(t, m, `interval:ms:50 { @n = count(); }`, time.Minute)
	waitAttached(t, m, id)
	time.Sleep(700 * time.Millisecond)
	type res struct {
		r   *StopResult
		err error
	}
	ch := make(chan res, 2)
	for range 2 {
		go func() {
			r, err := m.Stop(context.Background(), id)
			ch <- res{r, err}
		}()
	}
	firsts := 0
	for range 2 {
		r := <-ch
		if r.err != nil {
			t.Fatalf("Stop: %v", r.err)
		}
		if e := r.r.Execution; e.Status != StatusCompleted || e.EndReason != EndStopped {
			t.Errorf("after stop: %s/%s, want completed/stopped", e.Status, e.EndReason)
		}
		if !r.r.AlreadyEnded {
			firsts++
		}
	}
	if firsts != 1 {
		t.Errorf("%d stops report they stopped the run, want exactly 1", firsts)
	}
	r, err := m.Stop(context.Background(), id)
	if err != nil || !r.AlreadyEnded {
		t.Errorf("Stop(finished) = %+v, %v; want AlreadyEnded", r, err)
	}
	p := waitEnd(t, m, id)
	if !slices.ContainsFunc(p.Lines, func(l string) bool { return strings.HasPrefix(l, "@n: ") }) {
		t.Errorf("stopped run's output %q lacks its map", p.Lines)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, Limits{MaxConcurrent: 1, MaxTimeout: 30 * time.Second, MaxProgramBytes: 100})
	var lerr *LimitError
	for _, tt := range []struct {
		name    string
		req     StartRequest
		limit   string
		message string
	}{
		{"timeout too long", StartRequest{Program: "BEGIN{exit()}", Timeout: ptr(31 * time.Second)}, "timeout", "between 1 and 30 seconds"},
		{"timeout zero", StartRequest{Program: "BEGIN{exit()}", Timeout: ptr(time.Duration(0))}, "timeout", "out of range"},
		{"program too big", StartRequest{Program: "BEGIN{" + strings.Repeat(" ", 100) + "}"}, "program size", "more than the 100 allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Start(context.Background(), tt.req)
			if !errors.As(err, &lerr) || lerr.Limit != tt.limit || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error = %v, want the %s limit saying %q", err, tt.limit, tt.message)
			}
		})
	}
	id := start(t, m, `interval:ms:100 { @n = count(); }`, 30*time.Second)
	_, err := m.Start(context.Background(), StartRequest{Program: "BEGIN{exit()}"})
	if !errors.As(err, &lerr) || lerr.Limit != "concurrent executions" || !strings.Contains(err.Error(), id) {
		t.Errorf("second start error = %v, want the concurrency limit naming %s", err, id)
	}
	// Another client learns that the server is busy, not the ids of runs
	// it may not see.
	_, err = m.Start(context.Background(), StartRequest{Program: "BEGIN{exit()}", Principal: "other"})
	if !errors.As(err, &lerr) || lerr.Limit != "concurrent executions" || strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "1 of other clients") {
		t.Errorf("other client's start error = %v, want the concurrency limit counting, not naming, %s", err, id)
	}
	if _, err := m.Stop(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

func TestOutputCapCountsDropped(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, Limits{MaxOutputBytes: 4 << 10})
	// 100 lines of 100 bytes per tick: the 4 KiB cap is passed at once.
	id := start(t, m, `interval:ms:10 { @ticks = count(); unroll(100) { printf("%099d\n", 1); } } interval:ms:500 { exit(); }`, 10*time.Second)
	p := waitEnd(t, m, id)
	e := p.Execution
	if e.LinesDropped == 0 {
		t.Fatalf("no lines dropped past the cap: %+v", e)
	}
	if e.BytesStored > (4<<10)+mapReserve {
		t.Errorf("stored %d bytes, cap is %d", e.BytesStored, 4<<10)
	}
	if !slices.ContainsFunc(p.Lines, func(l string) bool { return strings.HasPrefix(l, "@ticks: ") }) {
		t.Errorf("the map was dropped with the flood: %q", p.Lines[max(0, len(p.Lines)-3):])
	}
}

func TestLongPollReturnsOnOutput(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, Limits{})
	id := start(t, m, `interval:ms:700 { printf("tick\n"); }`, 10*time.Second)
	begin := time.Now()
	p, err := m.Result(context.Background(), id, Query{Wait: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Lines) == 0 || p.Lines[0] != "tick" {
		t.Fatalf("lines = %q, want the first tick", p.Lines)
	}
	if took := time.Since(begin); took > 4*time.Second {
		t.Errorf("long-poll took %s; it should answer as soon as output arrives", took)
	}
	if p.Execution.Status != StatusRunning {
		t.Errorf("status %s, want running", p.Execution.Status)
	}
	if _, err := m.Stop(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

// waitAttached waits until bpftrace has attached the run's probes: a
// SIGINT before that ends bpftrace before it has maps to print, and a
// release in another root takes longer to get there.
func waitAttached(t *testing.T, m *Manager, id string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		p, err := m.Result(context.Background(), id, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Execution.ProbesAttached > 0 {
			return
		}
		if p.Execution.Status != StatusRunning {
			t.Fatalf("run ended before attaching: %+v", p.Execution)
		}
	}
	t.Fatal("bpftrace did not attach within a minute")
}

func TestCloseInterruptsAndKeepsMaps(t *testing.T) {
	t.Parallel()
	m, db := newManager(t, Limits{})
	id := start(t, m, `interval:ms:50 { @n = count(); }`, time.Minute)
	waitAttached(t, m, id)
	time.Sleep(500 * time.Millisecond)
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	e, err := db.FindExecution(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != StatusCompleted || e.EndReason != EndInterrupted || !strings.Contains(e.Maps, "@n") {
		t.Errorf("after Close: %s/%s maps %s; want completed/interrupted with @n", e.Status, e.EndReason, e.Maps)
	}
	if _, err := m.Start(context.Background(), StartRequest{Program: "BEGIN{exit()}"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
}

// TestNothingToAttachIsRefused: the program compiles, but the function
// does not exist. bpftrace says so before it traces anything (0.17: "No
// probes to attach"; 0.23: cannot resolve the symbol, after its notice;
// 0.27: no matches), and that is a refusal at start, not an execution.
func TestNothingToAttachIsRefused(t *testing.T) {
	t.Parallel()
	m, db := newManager(t, Limits{})
	_, err := m.Start(context.Background(), StartRequest{Program: `uprobe:/bin/true:nosuchfunction_xyz { printf("x\n"); }`})
	var perr *ProgramError
	if !errors.As(err, &perr) || perr.Check == nil {
		t.Fatalf("Start error = %v, want *ProgramError with bpftrace's verdict", err)
	}
	if msg := perr.Error(); !strings.Contains(msg, "No probes to attach") && !strings.Contains(msg, "nosuchfunction_xyz") {
		t.Errorf("error %q; want bpftrace's word that there is nothing to attach", msg)
	}
	if es, _ := db.ListExecutions(context.Background(), store.ExecutionFilter{}); len(es) != 0 {
		t.Errorf("%d executions recorded for a refused program", len(es))
	}
}

// TestAttachFailureIsRefused: a probe that compiles but cannot attach here
// (this VM has no hardware perf events) is refused at start with
// bpftrace's error, on every release: nothing was traced.
func TestAttachFailureIsRefused(t *testing.T) {
	t.Parallel()
	m, db := newManager(t, Limits{})
	e, err := m.Start(context.Background(), StartRequest{Program: `hardware:cpu-cycles:1000000 { @x = count(); }`})
	if err == nil {
		_, _ = m.Stop(context.Background(), e.ID)
		t.Skip("this host attaches hardware probes; no attach failure to observe")
	}
	var perr *ProgramError
	if !errors.As(err, &perr) || perr.Check == nil {
		t.Fatalf("Start error = %v, want *ProgramError with bpftrace's verdict", err)
	}
	if !strings.Contains(perr.Error(), "hardware:cpu-cycles:1000000") {
		t.Errorf("error %q does not name the probe that failed to attach", perr)
	}
	if es, _ := db.ListExecutions(context.Background(), store.ExecutionFilter{}); len(es) != 0 {
		t.Errorf("%d executions recorded for a refused program", len(es))
	}
}

// TestStartReturnsCompiledAndTimeoutCountsTracing: Start returns once
// bpftrace has compiled the program and attached it, the first line reaches a
// long-poll while the run goes on, and the timeout counts from attach.
func TestStartReturnsCompiledAndTimeoutCountsTracing(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, Limits{})
	timeout := time.Second
	e, err := m.Start(context.Background(), StartRequest{
		Program: `BEGIN { printf("first\n"); } interval:ms:100 { @n = count(); }`, Timeout: &timeout})
	if err != nil {
		t.Fatal(err)
	}
	if r := m.lookup(e.ID); r != nil && !r.isAttached() {
		t.Error("Start returned before bpftrace had attached its probes")
	}
	p, err := m.Result(context.Background(), e.ID, Query{Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Lines, []string{"first"}) {
		t.Fatalf("first page %q, want [first]", p.Lines)
	}
	p = waitEnd(t, m, e.ID)
	x := p.Execution
	if x.Status != StatusCompleted || x.EndReason != EndTimeout {
		t.Fatalf("status %s/%s (%s), want completed/timeout", x.Status, x.EndReason, x.ErrorMessage)
	}
	if x.AttachedAt == nil || x.StopAt == nil || x.EndedAt == nil {
		t.Fatalf("attached %v stop %v ended %v: want all three", x.AttachedAt, x.StopAt, x.EndedAt)
	}
	if x.AttachedAt.Before(x.StartedAt) || x.StopAt.Before(*x.AttachedAt) || x.EndedAt.Before(*x.StopAt) {
		t.Errorf("out of order: started %s attached %s stop %s ended %s", x.StartedAt, x.AttachedAt, x.StopAt, x.EndedAt)
	}
	tm := ExecutionTimes(x, time.Now())
	if !tm.Attached || tm.Traced < timeout {
		t.Errorf("times %+v: traced time must be at least the timeout (%s)", tm, timeout)
	}
	if tm.Attach+tm.Traced+tm.Teardown != tm.Total {
		t.Errorf("times %+v do not add up", tm)
	}
}

// TestFloodTenMillionLines: a program that prints ten million lines in
// about a second. Every line is accounted for (stored, dropped at the
// output cap, or lost by the kernel and reported), the server's heap stays
// small, and the map printed at the end survives the flood.
func TestFloodTenMillionLines(t *testing.T) {
	m, _ := newManager(t, Limits{MaxOutputBytes: 1 << 20})
	var lines []string
	for i := range 100 {
		lines = append(lines, strconv.Itoa(i%10))
	}
	// 1000 ticks of 100 printf events of 100 lines each. The flood and its
	// exit() come from the same interval probe, which fires on one CPU, so
	// every printf event precedes the exit() in bpftrace's stream and none
	// is discarded unreported when bpftrace stops reading.
	prog := `interval:ms:1 {
  if (@ticks < 1000) {
    @ticks = @ticks + 1;
    unroll(100) { printf("` + strings.Join(lines, `\n`) + `\n"); }
  } else {
    exit();
  }
}`
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	id := start(t, m, prog, 60*time.Second)
	// get_result answers during the flood.
	begin := time.Now()
	if _, err := m.Result(context.Background(), id, Query{Offset: 5_000_000, Limit: 1000}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > time.Second {
		t.Errorf("get_result took %s during the flood", took)
	}
	p := waitEnd(t, m, id)
	close(stop)
	<-sampled
	e := p.Execution
	if e.Status != StatusCompleted || e.EndReason != EndExit {
		t.Fatalf("flood ended %s/%s: %s", e.Status, e.EndReason, e.ErrorMessage)
	}
	const printed = 1000 * 100 * 100
	// Besides the flood, the exit-time dump is stored (from the reserve):
	// the separator bpftrace prints before it, if any, and the map's line.
	dump := append(testenv.ExitSeparator(t), "@ticks: 1000")
	accounted := (e.LinesTotal - int64(len(dump))) + e.LinesDropped + e.LostEvents*100
	t.Logf("printed %d lines: %d stored, %d dropped at the cap, %d lost in %d kernel-dropped events; heap peak %.1f MiB",
		printed, e.LinesTotal, e.LinesDropped, e.LostEvents*100, e.LostEvents, float64(peak)/(1<<20))
	// When the kernel drops events, some of them may be the exit() events
	// of the ticks after the 1000th (one a millisecond until bpftrace reads
	// one), which count as lost events but carry no lines.
	if extra := accounted - printed; extra < 0 || extra%100 != 0 || extra/100 > e.LostEvents {
		t.Errorf("printed %d lines, accounted for %d", printed, accounted)
	}
	if e.LinesDropped == 0 || e.BytesStored > 1<<20+mapReserve {
		t.Errorf("the output cap did not apply: %d bytes stored, %d dropped", e.BytesStored, e.LinesDropped)
	}
	tail, err := m.Result(context.Background(), id, Query{Offset: e.LinesTotal - int64(len(dump)), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tail.Lines, dump) {
		t.Errorf("last lines %q, want the exit-time map", tail.Lines)
	}
	if peak > 64<<20 {
		t.Errorf("heap peaked at %.1f MiB while ingesting", float64(peak)/(1<<20))
	}
}
