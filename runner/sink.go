package runner

import (
	"sync"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// sink sits between the goroutine that reads bpftrace and the one that
// writes to the store. The reader must never wait on SQLite for long, or
// bpftrace blocks on a full pipe and the kernel drops events; so lines are
// queued here and written in batches. The queue is bounded: when the writer
// falls behind by maxPendingBytes, the reader waits (and the loss shows up
// in bpftrace's lost-event count rather than in our memory).
type sink struct {
	mu       sync.Mutex
	cond     *sync.Cond
	pending  []string
	pendingB int
	first    int64 // line number of pending[0]
	closed   bool

	maxBytes int64
	lines    int64 // lines accepted (stored or queued)
	bytes    int64 // their bytes
	dropped  int64 // lines refused by the cap, or lost to a store failure

	pace pacer
	now  func() time.Time
}

func (s *sink) init(maxBytes int64) {
	s.cond = sync.NewCond(&s.mu)
	s.maxBytes = maxBytes
	s.pace = newPacer(commitWindow, commitBurst)
	s.now = time.Now
}

// add queues one line. Lines of map output may use mapReserve beyond the
// cap, so a run that flooded printf still shows its aggregations.
func (s *sink) add(line string, mapText bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := s.maxBytes
	if mapText {
		limit += mapReserve
	}
	n := int64(len(line) + 1)
	if s.bytes+n > limit {
		s.dropped++
		return
	}
	for s.pendingB >= maxPendingBytes && !s.closed {
		s.cond.Wait()
	}
	s.pending = append(s.pending, line)
	s.pendingB += int(n)
	s.lines++
	s.bytes += n
	// The writer waits for the first line of a batch (it may be due at
	// once) and for a full batch; lines in between only fill the batch.
	if len(s.pending) == 1 || len(s.pending) >= flushLines {
		s.cond.Broadcast()
	}
}

// close marks the end of input.
func (s *sink) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// take waits for a batch and returns it with its first line number and the
// counters as they stand once it is written. A batch is due at once when
// the commits have been few (the first line of a run, a line after a quiet
// spell), when flushLines are queued, or at the end; under a stream of
// lines the commits are paced (see [pacer]) so that each carries many. ok
// is false when the sink is closed and this was the last batch.
func (s *sink) take() (batch []string, first int64, c store.OutputCounters, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		wait, due := s.due(s.now())
		if due {
			break
		}
		if wait <= 0 {
			s.cond.Wait() // nothing queued: add or close wakes us
			continue
		}
		// sync.Cond has no timed wait; a timer broadcasts instead.
		t := time.AfterFunc(wait, func() {
			s.mu.Lock()
			s.cond.Broadcast()
			s.mu.Unlock()
		})
		s.cond.Wait()
		t.Stop()
	}
	if len(s.pending) > 0 {
		s.pace.record(s.now())
	}
	batch, first = s.pending, s.first
	s.first += int64(len(batch))
	s.pending, s.pendingB = nil, 0
	s.cond.Broadcast() // wake a reader waiting for room
	// Everything queued is in this batch, so the counters are those of the
	// output once the batch is written.
	c = store.OutputCounters{LinesTotal: s.first, BytesStored: s.bytes, LinesDropped: s.dropped}
	return batch, first, c, !(s.closed && len(batch) == 0)
}

// due says whether a batch should be taken now, and if not, how long to
// wait before asking again (0: until something is queued). s.mu is held.
func (s *sink) due(now time.Time) (wait time.Duration, due bool) {
	switch {
	case s.closed, len(s.pending) >= flushLines:
		return 0, true
	case len(s.pending) == 0:
		return 0, false
	}
	if d := s.pace.delay(now); d > 0 {
		return d, false
	}
	return 0, true
}

// lost takes back a batch that could not be stored: its lines count as
// dropped, not as output.
func (s *sink) lost(batch []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range batch {
		s.bytes -= int64(len(l) + 1)
	}
	s.lines -= int64(len(batch))
	s.dropped += int64(len(batch))
}

// totals are the final counters.
func (s *sink) totals() (lines, bytes, dropped int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines, s.bytes, s.dropped
}
