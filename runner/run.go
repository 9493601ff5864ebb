package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/headtail"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// Tuning of the output path. Lines are committed in batches: one SQLite
// transaction per line could not keep up with bpftrace's ~100k lines/s.
const (
	flushInterval   = 100 * time.Millisecond // under load, longest a line waits before it is readable
	flushLines      = 4096                   // a batch this large is written at once
	maxPendingBytes = 4 << 20                // past this the reader waits for the writer
	// mapReserve is stored output kept beyond MaxOutputBytes for map text, so
	// that a run which flooded printf still shows its aggregations.
	mapReserve = 4 << 20
	// maxStderr bounds the stderr kept for diagnostics.
	maxStderr = 64 << 10
)

// run is one execution started by this server.
type run struct {
	m       *Manager
	id      string
	owner   string // the principal it belongs to
	started time.Time
	proc    *bpftrace.Process
	timeout time.Duration
	dec     *output.Decoder

	stopOnce  sync.Once
	stopAsked atomic.Bool
	stopCh    chan string   // the end reason asked for
	finished  chan struct{} // closed when the execution is final in the store

	// Startup: bpftrace compiles the program, prints how many probes it
	// will attach (the notice), attaches them, and only then traces.
	noticeOnce, attachOnce sync.Once
	noticed                chan struct{} // closed at the notice: the program compiled
	attached               chan struct{} // closed when the probes are attached
	// early receives what bpftrace said when it ended before it had
	// attached: [Manager.Start] decides whether that was a refused program.
	early chan *bpftrace.CheckResult
	// decided is closed once Start has decided whether this is an
	// execution (stored is then true and the row exists) or a refused
	// program (nothing is written).
	decided chan struct{}
	stored  bool

	mu                 sync.Mutex
	committed          int64         // lines readable in the store
	changed            chan struct{} // closed and replaced at every commit and at the end
	probes             int
	lost               int64
	helperErr          int64
	storeErr           error
	exiting            bool      // bpftrace printed the blank lines that begin its exit
	mapLast            bool      // the last thing bpftrace printed was a map
	attachedAt, stopAt time.Time // zero until they happen
	// suspended is set when bpftrace was killed after the grace period
	// while stopped by a signal or a tracer (SIGSTOP): it could not run END.
	suspended bool
	messages  headtail.Buffer // plain-text lines bpftrace printed on stdout

	sink sink
}

func newRun(m *Manager, e *store.Execution, proc *bpftrace.Process, timeout time.Duration, req StartRequest) *run {
	r := &run{
		m:        m,
		id:       e.ID,
		owner:    e.Principal,
		started:  e.StartedAt,
		proc:     proc,
		timeout:  timeout,
		dec:      &output.Decoder{Schema: req.Maps, Release: m.bin.Version},
		stopCh:   make(chan string, 1),
		finished: make(chan struct{}),
		changed:  make(chan struct{}),
		probes:   -1,
		noticed:  make(chan struct{}),
		attached: make(chan struct{}),
		early:    make(chan *bpftrace.CheckResult, 1),
		decided:  make(chan struct{}),
	}
	r.sink.init(m.limits.MaxOutputBytes)
	r.messages.Max = maxStderr
	return r
}

// requestStop asks the run to stop for reason; it reports whether this was
// the first request.
func (r *run) requestStop(reason string) bool {
	first := false
	r.stopOnce.Do(func() {
		first = true
		r.stopAsked.Store(true)
		r.stopCh <- reason
	})
	return first
}

func (r *run) stopRequested() bool { return r.stopAsked.Load() }

// overlay adds to a running execution read from the store what only this
// process knows until the run ends: the attached probes and the events and
// lines lost so far.
func (r *run) overlay(e *store.Execution) {
	r.mu.Lock()
	if r.probes >= 0 {
		e.ProbesAttached = r.probes
	}
	if !r.attachedAt.IsZero() {
		e.AttachedAt = ptr(r.attachedAt.UTC())
	}
	if !r.stopAt.IsZero() {
		e.StopAt = ptr(r.stopAt.UTC())
	}
	e.LostEvents, e.HelperErrors = r.lost, r.helperErr
	r.mu.Unlock()
	_, _, dropped := r.sink.totals()
	e.LinesDropped = dropped
}

// wait returns a channel closed at the next commit or at the end.
func (r *run) wait() (<-chan struct{}, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed, r.committed
}

func (r *run) notify(committed int64) {
	r.mu.Lock()
	r.committed = committed
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// decide records Start's decision: stored, the execution is in the store
// and its output and end are written there; not stored, it was a refused
// program and nothing is written.
func (r *run) decide(stored bool) {
	r.stored = stored
	close(r.decided)
}

// notice marks the attach notice, with the probe count: bpftrace has
// compiled the program.
func (r *run) notice(n int) {
	r.mu.Lock()
	r.probes = n
	r.mu.Unlock()
	r.noticeOnce.Do(func() { close(r.noticed) })
}

// markAttached marks that bpftrace attached its probes: tracing began, and
// the timeout counts from here.
func (r *run) markAttached() {
	r.attachOnce.Do(func() {
		r.mu.Lock()
		r.attachedAt = time.Now()
		r.mu.Unlock()
		close(r.attached)
	})
}

func (r *run) isAttached() bool {
	select {
	case <-r.attached:
		return true
	default:
		return false
	}
}

func (r *run) isNoticed() bool {
	select {
	case <-r.noticed:
		return true
	default:
		return false
	}
}

// watchAttach finds out when bpftrace has attached its probes, for the
// releases whose notice comes before attaching (0.17-0.23 print
// "Attaching N probes..." when they begin): once every probe is attached,
// bpftrace runs BEGIN and waits for events in epoll_wait, and prints
// nothing before. So the first output after the notice, or bpftrace asleep
// in epoll_wait, means attached. This polls for the second; readStdout
// reports the first.
func (r *run) watchAttach(done <-chan struct{}) {
	select {
	case <-r.noticed:
	case <-done:
		return
	}
	t := time.NewTicker(attachPoll)
	defer t.Stop()
	for {
		if r.proc.Idle() {
			r.markAttached()
			return
		}
		select {
		case <-r.attached:
			return
		case <-done:
			return
		case <-t.C:
		}
	}
}

// Startup timing.
const (
	// attachPoll is how often watchAttach looks at bpftrace while it
	// attaches: a few /proc reads, so the attach time is known within a
	// few milliseconds.
	attachPoll = 5 * time.Millisecond
	// attachBudget bounds the time from start to attached: a run that has
	// not attached by then is stopped (its timeout counts only from
	// attach, so without a bound a run that never attached would never
	// end). bpftrace 0.17 compiles and attaches 82 uprobes in about 2.6 s.
	attachBudget = 2 * time.Minute
)

// supervise owns the process from start to the final store update.
func (r *run) supervise() {
	ctx := context.Background()

	exited := make(chan bpftrace.ExitStatus, 1)
	var waitErr error
	stdoutDone := make(chan struct{})
	stderrDone := make(chan string, 1)
	writerDone := make(chan struct{})
	watchDone := make(chan struct{})
	var maps []*output.Map

	go func() {
		st, err := r.proc.Wait()
		waitErr = err
		exited <- st
	}()
	go func() {
		maps = r.readStdout()
		r.sink.close()
		close(stdoutDone)
	}()
	go func() { stderrDone <- r.readStderr() }()
	go func() { r.writeLoop(ctx); close(writerDone) }()
	go r.watchAttach(watchDone)

	reason, st, killed := r.watch(exited)
	close(watchDone)
	<-stdoutDone
	stderr := <-stderrDone
	if !r.isAttached() {
		// Ended before it had attached its probes: bpftrace refused the
		// program (a compile error, nothing to attach, an attach error) or
		// could not start. Start decides; nothing was traced.
		r.early <- &bpftrace.CheckResult{Stderr: bpftrace.ParseStderr(r.plainMessages() + stderr), Status: st}
	}
	<-r.decided
	<-writerDone
	r.proc.Stdout.Close()
	r.proc.Stderr.Close()
	if !r.stored {
		close(r.finished)
		return
	}
	r.finish(ctx, reason, st, waitErr, killed, stderr, maps)
	close(r.finished)
	// Retention is not part of the stop: a stop request has its answer.
	if err := r.m.db.Prune(ctx); err != nil {
		r.m.log.Warn("apply history retention", "err", err)
	}
}

// watch waits for the run to end: on its own, at its timeout, which counts
// from attach, or when asked to stop. It stops bpftrace in the two last
// cases.
func (r *run) watch(exited <-chan bpftrace.ExitStatus) (reason string, st bpftrace.ExitStatus, killed bool) {
	budget := time.NewTimer(attachBudget)
	defer budget.Stop()
	attached := r.attached
	var traced <-chan time.Time
	for reason == "" {
		select {
		case st = <-exited:
			return "", st, false
		case <-attached:
			attached = nil
			budget.Stop()
			t := time.NewTimer(r.timeout)
			defer t.Stop()
			traced = t.C
		case <-traced:
			reason = EndTimeout
		case <-budget.C:
			r.m.log.Warn("bpftrace did not attach its probes in time; stopping it", "execution_id", r.id, "budget", attachBudget)
			reason = EndTimeout
		case reason = <-r.stopCh:
		}
	}
	killed, st = r.interrupt(exited)
	return reason, st, killed
}

// interrupt stops the process the way Ctrl-C does, so that END probes run
// and the maps are printed, and kills it if it has not exited when the grace
// period is over. Teardown costs about 50 ms per attached tracepoint and
// about 100 ms per uprobe here.
//
// bpftrace 0.17 can lose a SIGINT that arrives while it attaches (and,
// rarely, one that arrives while it runs): it then runs on, asleep in
// epoll_wait. So a stop asked for while it attaches waits until it has
// attached, and the signal is sent again, but only while bpftrace is idle
// like that and has not begun its exit sequence, never while it tears down
// or prints maps. Before the notice, while it compiles, bpftrace has no
// handler yet and SIGINT simply ends it: nothing is attached, nothing lost.
func (r *run) interrupt(exited <-chan bpftrace.ExitStatus) (killed bool, st bpftrace.ExitStatus) {
	grace := r.grace()
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	if r.isNoticed() {
		select {
		case <-r.attached:
		case st = <-exited:
			return false, st
		case <-deadline.C:
		}
	}
	check := time.NewTicker(resendCheck)
	defer check.Stop()
	send := func() {
		if err := r.proc.Interrupt(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			r.m.log.Warn("interrupt bpftrace", "execution_id", r.id, "err", err)
		}
	}
	r.mu.Lock()
	r.stopAt = time.Now()
	r.mu.Unlock()
	send()
	idleTicks := 0
	for {
		select {
		case st = <-exited:
			return false, st
		case <-check.C:
			if r.isExiting() || !r.proc.Idle() {
				idleTicks = 0
				continue
			}
			// Idle at two checks in a row: the signal was lost.
			if idleTicks++; idleTicks >= 2 {
				r.m.log.Info("bpftrace missed SIGINT; sending it again", "execution_id", r.id)
				send()
				idleTicks = 0
			}
		case <-deadline.C:
			suspended := r.proc.Suspended()
			r.mu.Lock()
			r.suspended = suspended
			r.mu.Unlock()
			r.m.log.Warn("bpftrace did not exit after SIGINT; killing it", "execution_id", r.id, "grace", grace, "suspended", suspended)
			_ = r.proc.Kill()
			return true, <-exited
		}
	}
}

// resendCheck is how often a stopping bpftrace is looked at for a lost
// SIGINT. A bpftrace that got the signal leaves epoll_wait within
// microseconds, so two idle looks this far apart mean it was lost.
const resendCheck = 100 * time.Millisecond

func (r *run) isExiting() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exiting
}

// dumping reports whether bpftrace is printing maps, so that a reader
// waiting for output does not stop at the first of them. Up to 0.23 the
// blank lines before the exit-time dump say so. From 0.24 nothing in the
// JSON stream marks the dump, and print() writes the same records while
// tracing; but a bpftrace that printed a map and is not back asleep
// waiting for events (or has exited) is still printing: it goes back to
// epoll_wait between the events of a run, never during its exit.
func (r *run) dumping() bool {
	r.mu.Lock()
	exiting, mapLast := r.exiting, r.mapLast
	r.mu.Unlock()
	return exiting || mapLast && !r.proc.Idle()
}

// perProbeTeardown is the grace given per attached probe after SIGINT.
// Detaching waits for RCU grace periods: about 50 ms per tracepoint and
// about 100 ms per uprobe here (bpftrace 0.17, 82 bash uprobes: 8.4 s from
// SIGINT to the maps), so 150 ms keeps a margin for the slowest kind.
const perProbeTeardown = 150 * time.Millisecond

// grace is how long to wait after SIGINT for the maps: a base for exit
// processing plus the measured per-probe detach cost, with a margin.
func (r *run) grace() time.Duration {
	r.mu.Lock()
	n := r.probes
	r.mu.Unlock()
	if n < 1 {
		n = 1
	}
	g := 3*time.Second + time.Duration(n)*perProbeTeardown
	return min(g, 120*time.Second)
}

// readStdout decodes the JSON stream until EOF and feeds the text to the
// sink. It returns the final aggregations.
func (r *run) readStdout() []*output.Map {
	br := bufio.NewReaderSize(newPacedReader(r.proc.Stdout), 256<<10)
	sp := splitter{maxLine: r.m.limits.MaxLineBytes, emit: r.sink.add}
	var (
		maps     []*output.Map
		index    = map[string]int{}
		blanks   int // blank lines held back: written before the next text, dropped at the end
		longLine []byte
	)
	text := func(t string, mapText bool) {
		for ; blanks > 0; blanks-- {
			sp.write("\n", true)
		}
		// Before the write: a map's text may be committed in parts.
		r.mu.Lock()
		r.mapLast = mapText
		r.mu.Unlock()
		sp.write(t, mapText)
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			longLine = append(longLine, chunk...)
			continue
		}
		line := chunk
		if longLine != nil {
			line = append(longLine, chunk...)
			longLine = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		if len(line) > 0 || err == nil {
			ev, derr := r.dec.Decode(line)
			if derr == nil && ev.Kind != output.KindAttachedProbes && r.isNoticed() {
				// bpftrace reads events only once every probe is attached.
				r.markAttached()
			}
			switch {
			case derr != nil:
				// In JSON mode all program output is JSON; a plain line is
				// bpftrace speaking ("No probes to attach" goes to stdout
				// in 0.17). It belongs with the diagnostics, not the output.
				r.mu.Lock()
				r.messages.Write(append(line, '\n'))
				r.mu.Unlock()
			case ev.Kind == output.KindBlank:
				// bpftrace prints two blank lines before the exit-time map
				// dump, maps or not. They separate the dump from the
				// program's own output when maps follow; trailing ones
				// would only be noise.
				blanks++
				r.mu.Lock()
				r.exiting = true
				r.mu.Unlock()
				if blanks == 2 {
					// The maps of the dump replace what print() showed.
					maps, index = nil, map[string]int{}
				}
			case ev.Kind == output.KindText:
				text(ev.Text, false)
			case ev.Kind == output.KindMap:
				text(ev.Text, true)
				if ev.Map != nil {
					// Stored as the lines are: escaped.
					ev.Map.Escape()
					if i, ok := index[ev.Map.Name]; ok {
						maps[i] = ev.Map
					} else {
						index[ev.Map.Name] = len(maps)
						maps = append(maps, ev.Map)
					}
				}
			case ev.Kind == output.KindAttachedProbes:
				r.notice(ev.Probes)
			case ev.Kind == output.KindLostEvents:
				r.mu.Lock()
				r.lost += int64(ev.Lost)
				r.mu.Unlock()
			case ev.Kind == output.KindHelperError:
				r.mu.Lock()
				r.helperErr++
				r.mu.Unlock()
			case ev.Kind == output.KindMessage:
				// errorf(), warnf() and runtime errors (0.24+): text mode
				// prints them on stderr, JSON mode in the stream; keep them
				// in the output, where the program's author looks.
				text(ev.Message.String()+"\n", false)
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.m.log.Warn("read bpftrace output", "execution_id", r.id, "err", err)
			}
			break
		}
	}
	sp.flush()
	return maps
}

// readStderr keeps bpftrace's stderr (bounded, harmless noise removed) and
// picks up the 0.24+ attach notice, which is printed there after attaching.
func (r *run) readStderr() string {
	ht := &headtail.Buffer{Max: maxStderr}
	sc := bufio.NewScanner(r.proc.Stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := bpftrace.AttachNotice(line); ok {
			r.notice(n)
			if strings.HasPrefix(strings.TrimSpace(line), "Attached") {
				// 0.24+ prints it once the probes are attached.
				r.markAttached()
			}
			continue
		}
		ht.Write([]byte(line + "\n"))
	}
	// Drain what a too-long line left, so bpftrace never blocks on stderr.
	_, _ = io.Copy(io.Discard, r.proc.Stderr)
	return bpftrace.FilterStderr(ht.String())
}

// writeLoop commits batches of lines to the store until the sink is closed
// and empty.
func (r *run) writeLoop(ctx context.Context) {
	for {
		batch, first, counters, ok := r.sink.take()
		if len(batch) > 0 {
			// Nothing is written before Start has stored the execution,
			// and nothing at all for a refused program.
			<-r.decided
			if !r.stored {
				continue
			}
			r.mu.Lock()
			failed := r.storeErr != nil
			r.mu.Unlock()
			if !failed {
				if err := r.m.db.AppendOutput(ctx, r.id, first, batch, counters); err != nil {
					r.m.log.Error("store output", "execution_id", r.id, "err", err)
					r.m.setStoreError(err)
					r.mu.Lock()
					r.storeErr = err
					r.mu.Unlock()
				} else {
					r.notify(first + int64(len(batch)))
					r.m.observe(r.id, false)
				}
			}
			if failed || r.storeErrNow() {
				r.sink.lost(batch)
			}
		}
		if !ok {
			return
		}
	}
}

func (r *run) storeErrNow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.storeErr != nil
}

// finish records how the execution ended.
func (r *run) finish(ctx context.Context, reason string, st bpftrace.ExitStatus, waitErr error, killed bool, stderr string, maps []*output.Map) {
	end := time.Now().UTC()
	stderr = r.plainMessages() + stderr
	parsed := bpftrace.ParseStderr(stderr)
	status, endReason, msg := StatusCompleted, reason, ""
	switch {
	case waitErr != nil:
		status, endReason, msg = StatusFailed, EndError, "waiting for bpftrace failed: "+waitErr.Error()
	case reason != "":
		if killed {
			why := "did not exit"
			r.mu.Lock()
			if r.suspended {
				why = "was suspended (SIGSTOP, or stopped by a debugger) and did not exit"
			}
			r.mu.Unlock()
			msg = fmt.Sprintf("END did not run: bpftrace %s within %s of SIGINT (its stop budget) and was killed; the maps it would have printed at the end were lost", why, r.grace())
		} else if st.Code != 0 || st.Signaled() {
			// Stopped, but bpftrace reported a failure on the way out (an
			// attach error that raced the stop, for example).
			if s := parsed.Summary(); s != "" {
				msg = s
			}
		}
	case st.Code == 0 && !st.Signaled():
		endReason = EndExit
	default:
		status, endReason = StatusFailed, EndError
		msg = failureMessage(st, parsed)
	}
	r.mu.Lock()
	storeErr := r.storeErr
	probes, lost, helperErr := r.probes, r.lost, r.helperErr
	attachedAt, stopAt := r.attachedAt, r.stopAt
	r.mu.Unlock()
	if storeErr != nil {
		msg = strings.TrimSpace(msg + "\noutput could not be stored, lines after the failure were dropped: " + storeErr.Error())
	}
	var mapsJSON *string
	if len(maps) > 0 {
		if b, err := json.Marshal(maps); err == nil {
			mapsJSON = ptr(string(b))
		}
	}
	lines, bytesStored, dropped := r.sink.totals()
	u := store.ExecutionUpdate{
		Status:       &status,
		EndReason:    &endReason,
		ErrorMessage: &msg,
		Diagnostics:  &stderr,
		Maps:         mapsJSON,
		EndedAt:      &end,
		LostEvents:   &lost,
		HelperErrors: &helperErr,
		LinesTotal:   &lines,
		LinesDropped: &dropped,
		BytesStored:  &bytesStored,
	}
	if !st.Signaled() {
		u.ExitCode = &st.Code
	} else {
		code := 128 + int(st.Signal)
		u.ExitCode = &code
	}
	if probes >= 0 {
		u.ProbesAttached = &probes
	}
	if !attachedAt.IsZero() {
		u.AttachedAt = ptr(attachedAt.UTC())
	}
	if !stopAt.IsZero() {
		u.StopAt = ptr(stopAt.UTC())
	}
	if err := r.m.db.UpdateExecution(ctx, r.id, u); err != nil {
		r.m.log.Error("record end of execution", "execution_id", r.id, "err", err)
		r.m.setStoreError(err)
		if e, ferr := r.m.db.FindExecution(ctx, r.id); ferr == nil {
			applyUpdate(e, u)
			e.ErrorMessage = strings.TrimSpace(e.ErrorMessage + "\nthe end of this execution could not be stored: " + err.Error())
			r.m.keepUnsaved(e)
		}
	}
	r.notify(lines)
	r.m.observe(r.id, true)
	r.m.log.Info("execution ended", "execution_id", r.id, "principal", r.owner, "status", status, "end_reason", endReason,
		"exit", st.String(), "lines", lines, "dropped", dropped, "lost_events", lost)
}

// plainMessages is what bpftrace printed as plain text on stdout (0.17
// prints "No probes to attach" there), noise removed.
func (r *run) plainMessages() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bpftrace.FilterStderr(r.messages.String())
}

// failureMessage explains a bpftrace that exited on its own with a failure.
func failureMessage(st bpftrace.ExitStatus, s bpftrace.Stderr) string {
	summary := s.Summary()
	switch {
	case st.Signaled() && summary != "":
		return fmt.Sprintf("bpftrace was %s: %s", st, summary)
	case st.Signaled():
		return fmt.Sprintf("bpftrace was %s", st)
	case st.Code == 134:
		return "bpftrace aborted (SIGABRT): " + summary
	case summary != "":
		return summary
	default:
		return fmt.Sprintf("bpftrace failed with %s and printed no error", st)
	}
}

// applyUpdate applies a store update to an execution in memory.
func applyUpdate(e *store.Execution, u store.ExecutionUpdate) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&e.Status, u.Status)
	set(&e.EndReason, u.EndReason)
	set(&e.ErrorMessage, u.ErrorMessage)
	set(&e.Diagnostics, u.Diagnostics)
	set(&e.Maps, u.Maps)
	if u.EndedAt != nil {
		e.EndedAt = u.EndedAt
	}
	if u.AttachedAt != nil {
		e.AttachedAt = u.AttachedAt
	}
	if u.StopAt != nil {
		e.StopAt = u.StopAt
	}
	if u.ExitCode != nil {
		e.ExitCode = u.ExitCode
	}
	if u.ProbesAttached != nil {
		e.ProbesAttached = *u.ProbesAttached
	}
	for _, p := range []struct {
		dst *int64
		v   *int64
	}{{&e.LostEvents, u.LostEvents}, {&e.HelperErrors, u.HelperErrors}, {&e.LinesDropped, u.LinesDropped}} {
		if p.v != nil {
			*p.dst = *p.v
		}
	}
}
