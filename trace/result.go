package trace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/runner"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

// Result is a run as it stands with one page of its output: what
// get_result answers.
type Result struct {
	ExecutionID   string   `json:"execution_id"`
	Status        string   `json:"status" jsonschema:"running, completed or failed"`
	EndReason     string   `json:"end_reason,omitempty" jsonschema:"exit (the program ended itself), timeout (ran its full time, a normal end), stopped (stop_execution), error, interrupted (the server went away)"`
	LinesTotal    int64    `json:"lines_total" jsonschema:"lines of output stored so far"`
	LinesReturned int      `json:"lines_returned"`
	Output        []string `json:"output" jsonschema:"the output lines as bpftrace prints them in text mode, maps printed at the end included"`
	HasMore       bool     `json:"has_more" jsonschema:"more lines exist past this page now"`
	NextOffset    int64    `json:"next_offset" jsonschema:"offset of the next page"`
	// Duration is the seconds since start: AttachSeconds (compile and
	// attach), TracedSeconds (from attach to the stop or the end: what the
	// timeout counts), and the teardown after a stop (END, detaching, the
	// map dump). The two parts are left out of an answer that has no room.
	Duration      float64  `json:"duration" jsonschema:"seconds since start"`
	AttachSeconds *float64 `json:"attach_seconds,omitempty"`
	TracedSeconds float64  `json:"traced_seconds,omitempty"`
	ErrorMessage  string   `json:"error_message,omitempty"`
	// EndSkipped is set when the run was stopped (its timeout or
	// stop_execution) but bpftrace was killed instead of exiting: see
	// [runner.EndRan].
	EndSkipped     bool   `json:"end_skipped,omitempty" jsonschema:"END did not run: bpftrace was killed after its stop budget (see error_message)"`
	ProbesAttached *int   `json:"probes_attached,omitempty" jsonschema:"probes bpftrace attached"`
	LostEvents     int64  `json:"lost_events,omitempty" jsonschema:"events the kernel dropped because output could not keep up; prefer aggregations"`
	HelperErrors   int64  `json:"helper_errors,omitempty" jsonschema:"BPF helper calls that failed; usually a full map (raise its size, use an LRU map, or clear it)"`
	LinesDropped   int64  `json:"lines_dropped,omitempty" jsonschema:"lines not stored because the output limit was reached"`
	ExitCode       *int   `json:"exit_code,omitempty"`
	StartedAt      string `json:"started_at"`
	EndedAt        string `json:"ended_at,omitempty"`
	// Ending is set while END runs and the maps are being printed: the
	// lines and maps so far are incomplete.
	Ending bool       `json:"ending,omitempty" jsonschema:"the program is ending and its maps are being printed; read again to see them complete"`
	Maps   []*MapPage `json:"maps,omitempty" jsonschema:"the aggregations printed at the end, as typed data; each map's entries most significant first (by value, histograms by count), cut to the byte budget"`

	offset  int64  // the first line asked for
	mapOnly string // the one map asked for
	// brief says the answer has no room for the advice that goes with
	// lost events, dropped lines and helper errors: Text names them only.
	brief bool
	// mapsLeftOut counts the maps left out of an answer too small to list
	// them all.
	mapsLeftOut int
}

// Query selects a page of a run's output.
type Query struct {
	Offset   int64         // first line, 0-based
	Limit    int64         // most lines: 1-10000; 0 means 1000
	MaxBytes int           // most bytes of the whole answer: 1024 to the ceiling; 0 means the default budget
	Wait     time.Duration // wait this long (at most a minute) for output past Offset or the end
	// Map, when set, asks for one map only (no lines), its entries from
	// rank MapOffset on.
	Map       string
	MapOffset int
	// Progress, when set, is called about every second while waiting, with
	// the lines of output so far.
	Progress func(lines int64, elapsed time.Duration)
	// Reserve is what the caller's answer adds around the result, counted
	// in the budget.
	Reserve int
}

// MaxWait is the longest a read waits for output.
const MaxWait = time.Minute

func (q Query) check(b Budget) error {
	switch {
	case q.Limit < 0 || q.Limit > 10000:
		return fmt.Errorf("limit %d is out of range: pass 1 to 10000 (default 1000)", q.Limit)
	case q.MaxBytes != 0 && (q.MaxBytes < minAnswerBytes || q.MaxBytes > b.Ceiling):
		return fmt.Errorf("max_bytes %d is out of range: pass %d to %d (default %d)", q.MaxBytes, minAnswerBytes, b.Ceiling, b.Default)
	case q.Wait < 0 || q.Wait > MaxWait:
		return fmt.Errorf("wait_seconds %g is out of range: pass 0 to %g", q.Wait.Seconds(), MaxWait.Seconds())
	case q.Offset < 0:
		return fmt.Errorf("offset %d is negative: pass 0 or the next_offset of the previous page", q.Offset)
	case q.MapOffset < 0:
		return fmt.Errorf("map_offset %d is negative: pass 0 or the offset after the entries of the previous page", q.MapOffset)
	case q.MapOffset > 0 && q.Map == "":
		return errors.New("map_offset pages one map: name it in map (e.g. \"@opens\")")
	}
	return nil
}

// Result returns a run's status and a page of its output: lines from
// q.Offset and every map's most significant entries, together within the
// byte budget.
func (s *Service) Result(ctx context.Context, p access.Principal, id string, q Query) (*Result, error) {
	if err := q.check(s.budget); err != nil {
		return nil, err
	}
	budget := q.MaxBytes
	if budget == 0 {
		budget = s.budget.Default
	}
	rq := runner.Query{
		Offset: q.Offset,
		Limit:  q.Limit,
		// The lines can never take more than the whole budget.
		MaxBytes: budget,
		Wait:     q.Wait,
		Progress: q.Progress,
	}
	if q.Map != "" {
		rq.Limit, rq.MaxBytes = 1, 1 // the status only; no line fits in one byte
	}
	if err := s.authorize(ctx, p, id); err != nil {
		return nil, err
	}
	page, err := s.o.Runner.Result(ctx, id, rq)
	if err != nil {
		return nil, executionError(err, id)
	}
	r := s.result(page)
	r.offset, r.mapOnly = q.Offset, q.Map
	if q.Map != "" {
		r.setLines(nil, 0)
		maps, err := s.maps(page)
		if err != nil {
			return nil, err
		}
		r.Maps = pageMaps(maps, q.Map, q.MapOffset)
		if len(r.Maps) == 0 {
			return nil, fmt.Errorf("execution %s has no map %q (yet): %s", id, q.Map, mapNames(maps))
		}
	}
	r.fit(budget, q.Reserve)
	return r, nil
}

func mapNames(maps []*output.Map) string {
	if len(maps) == 0 {
		return "it has printed no maps"
	}
	names := make([]string, len(maps))
	for i, m := range maps {
		names[i] = m.Name
	}
	return "its maps are " + strings.Join(names, ", ")
}

// maps decodes the maps stored with a run.
func (s *Service) maps(page *runner.Page) ([]*output.Map, error) {
	e := page.Execution
	if e.Maps == "" {
		return nil, nil
	}
	var maps []*output.Map
	if err := json.Unmarshal([]byte(e.Maps), &maps); err != nil {
		s.log.Warn("decode stored maps", "execution_id", e.ID, "err", err)
		return nil, fmt.Errorf("the maps of execution %s cannot be read back: %w", e.ID, err)
	}
	for _, m := range maps {
		m.Escape() // the runner stores them escaped; older rows may not be
	}
	return maps, nil
}

func (s *Service) result(page *runner.Page) *Result {
	e := page.Execution
	out := &Result{
		ExecutionID:   e.ID,
		Status:        e.Status,
		EndReason:     e.EndReason,
		LinesTotal:    e.LinesTotal,
		LinesReturned: len(page.Lines),
		Output:        page.Lines,
		HasMore:       page.HasMore,
		NextOffset:    page.NextOffset,
		Duration:      seconds(page.Duration()),
		// bpftrace's messages can quote what it read from the traced
		// system (a file name, a symbol).
		ErrorMessage: untrusted.Text(e.ErrorMessage),
		LostEvents:   e.LostEvents,
		HelperErrors: e.HelperErrors,
		LinesDropped: e.LinesDropped,
		ExitCode:     e.ExitCode,
		StartedAt:    e.StartedAt.UTC().Format(time.RFC3339Nano),
		Ending:       page.Ending,
	}
	if out.Output == nil {
		out.Output = []string{}
	}
	if e.EndedAt != nil {
		out.EndedAt = e.EndedAt.UTC().Format(time.RFC3339Nano)
	}
	if ran, stopped := runner.EndRan(e); stopped && !ran {
		out.EndSkipped = true
	}
	times := runner.ExecutionTimes(e, time.Now())
	out.Duration, out.TracedSeconds = seconds(times.Total), seconds(times.Traced)
	if times.Attached {
		out.AttachSeconds = new(seconds(times.Attach))
	}
	if e.ProbesAttached > 0 || e.Status != runner.StatusRunning {
		// While running, 0 means bpftrace has not said yet.
		n := e.ProbesAttached
		out.ProbesAttached = &n
	}
	if maps, err := s.maps(page); err == nil {
		out.Maps = pageMaps(maps, "", 0)
	}
	return out
}

// WaitOptions tune [Service.Wait].
type WaitOptions struct {
	// Progress, when set, is called about every second while waiting, with
	// the lines of output so far.
	Progress func(lines int64, elapsed time.Duration)
	// Reserve is what the caller's answer adds around the result, counted
	// in the budget.
	Reserve int
}

// MaxExecWait is the longest [Service.Wait] waits.
func (s *Service) MaxExecWait() time.Duration { return s.o.MaxExecWait }

// Wait waits for a run to end, at most [Service.MaxExecWait] (below the
// time clients wait for an answer), and returns its first page: of the
// ended run, or of the run still going, whose status then says so.
func (s *Service) Wait(ctx context.Context, p access.Principal, id string, o WaitOptions) (*Result, error) {
	if err := s.authorize(ctx, p, id); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(s.o.MaxExecWait)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		page, err := s.o.Runner.Result(ctx, id, runner.Query{
			Offset:   1 << 62, // past any output: returns at the end, or when the wait is over
			Limit:    1,
			MaxBytes: 1,
			Wait:     left,
			Progress: o.Progress,
		})
		if err != nil {
			return nil, executionError(err, id)
		}
		if page.Execution.Status != runner.StatusRunning {
			break
		}
	}
	return s.Result(ctx, p, id, Query{Reserve: o.Reserve})
}

// Stop stops a running execution gracefully and waits until it has ended
// and its maps are stored; stopping one that has ended is not an error.
func (s *Service) Stop(ctx context.Context, p access.Principal, id, client string) (*runner.StopResult, error) {
	req := Request{Client: client}
	if !p.Role.CanRun() {
		err := fmt.Errorf("%w: %s may not stop executions: stopping needs the operator or admin role", ErrForbidden, p)
		s.record(ctx, p, decision{action: audit.ActionStop, req: req, id: id, outcome: "refused: " + err.Error(), denied: true, rule: "role"})
		return nil, err
	}
	res, err := (*runner.StopResult)(nil), s.authorize(ctx, p, id)
	if err == nil {
		res, err = s.o.Runner.Stop(ctx, id)
	}
	outcome := "stopped"
	switch {
	case err != nil:
		outcome = "error: " + err.Error()
	case res.AlreadyEnded:
		outcome = "already ended"
	}
	s.record(ctx, p, decision{action: audit.ActionStop, req: req, id: id, outcome: outcome})
	if err != nil {
		return nil, executionError(err, id)
	}
	return res, nil
}

// List returns executions, newest first.
func (s *Service) List(ctx context.Context, p access.Principal, f store.ExecutionFilter) ([]*store.Execution, error) {
	switch f.Status {
	case "", runner.StatusRunning, runner.StatusCompleted, runner.StatusFailed:
	default:
		return nil, fmt.Errorf("status %q is not one of running, completed, failed", f.Status)
	}
	switch {
	case f.Limit == 0:
		f.Limit = 20
	case f.Limit < 0 || f.Limit > 500:
		return nil, fmt.Errorf("limit %d is out of range: pass 1 to 500 (default 20)", f.Limit)
	}
	if !p.Role.SeesAll() {
		if !p.Role.CanRun() || p.Name == "" {
			return []*store.Execution{}, nil // a viewer has no executions
		}
		f.Principal = p.Name
	}
	es, err := s.o.Runner.List(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return es, nil
}

// authorize returns nil when p may see and act on execution id. Another
// principal's execution gets the very error of an id nobody knows, so
// that a client cannot even learn that it exists.
func (s *Service) authorize(ctx context.Context, p access.Principal, id string) error {
	page, err := s.o.Runner.Result(ctx, id, runner.Query{Limit: 1, MaxBytes: 1})
	if err != nil {
		return executionError(err, id)
	}
	if !p.Owns(page.Execution.Principal) {
		return executionError(fmt.Errorf("execution %q: %w", id, runner.ErrNotFound), id)
	}
	return nil
}

// Audit returns the newest audit entries p may read: every entry for an
// admin, p's own for anyone else.
func (s *Service) Audit(ctx context.Context, p access.Principal, limit int) ([]*store.AuditEntry, error) {
	if s.o.Audit == nil {
		return []*store.AuditEntry{}, nil
	}
	if p.Role.SeesAll() {
		return s.o.Audit.Recent(ctx, limit)
	}
	return s.o.Audit.RecentOf(ctx, limit, p.Name)
}

// executionError says what to do about an execution the runner could not
// find or reach.
func executionError(err error, id string) error {
	if errors.Is(err, runner.ErrNotFound) {
		return &notFoundError{id: id, err: err}
	}
	return err
}

// notFoundError is an execution id nobody knows; it is runner.ErrNotFound.
type notFoundError struct {
	id  string
	err error
}

func (e *notFoundError) Error() string {
	return fmt.Sprintf("no execution with id %q: check the id exec_program returned, or find it with list_executions", e.id)
}

func (e *notFoundError) Unwrap() error { return e.err }

func seconds(d time.Duration) float64 {
	return float64(d.Milliseconds()) / 1000
}

// Page returns a page of a run's output as the runner stores it, for
// readers that render it themselves (the execution resource).
func (s *Service) Page(ctx context.Context, p access.Principal, id string, q runner.Query) (*runner.Page, error) {
	if err := s.authorize(ctx, p, id); err != nil {
		return nil, err
	}
	page, err := s.o.Runner.Result(ctx, id, q)
	if err != nil {
		return nil, executionError(err, id)
	}
	return page, nil
}
