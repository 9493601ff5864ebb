package runner

import (
	"io"
	"time"
)

// pacer decides when a wakeup may happen: at most burst wakeups in any
// window, and the next one as soon as the oldest of the last burst is a
// window old. A trickle of output (a line now and then, the first line of a
// run, a line after a quiet spell) never waits; only a stream that would
// wake the server more than burst times a window is batched, which is where
// batching saves CPU. The zero time means "never happened".
type pacer struct {
	window time.Duration
	recent []time.Time // the last burst wakeups, a ring; recent[next] is the oldest
	next   int
}

func newPacer(window time.Duration, burst int) pacer {
	return pacer{window: window, recent: make([]time.Time, burst)}
}

// delay is how long after now the next wakeup must wait (0: at once).
func (p *pacer) delay(now time.Time) time.Duration {
	oldest := p.recent[p.next]
	if oldest.IsZero() {
		return 0
	}
	return max(0, oldest.Add(p.window).Sub(now))
}

// record notes a wakeup at now.
func (p *pacer) record(now time.Time) {
	p.recent[p.next] = now
	p.next = (p.next + 1) % len(p.recent)
}

// Pacing of the two wakeups on the output path.
const (
	// readWindow and readBurst pace reads of bpftrace's stdout: a read that
	// finds little (a short read) counts as a wakeup.
	readWindow = 20 * time.Millisecond
	readBurst  = 4
	// commitWindow and commitBurst pace commits to the store.
	commitWindow = flushInterval
	commitBurst  = 4
)

// pacedReader reads bpftrace's stdout, batching under load. bpftrace writes
// every line with its own write(); a reader that woke for each would spend
// more CPU on wakeups than on the lines (and take it from the traced system
// and bpftrace). So once short reads come faster than readBurst per
// readWindow, the reader waits before the next read, and the pipe (1 MiB)
// collects the lines meanwhile. The wait comes before a read, never between
// a read and its return: what was read is handed on at once. A full read is
// not counted, so a reader that falls behind catches up at full speed.
type pacedReader struct {
	f     io.Reader
	p     pacer
	now   func() time.Time
	sleep func(time.Duration)
}

func newPacedReader(f io.Reader) *pacedReader {
	return &pacedReader{f: f, p: newPacer(readWindow, readBurst), now: time.Now, sleep: time.Sleep}
}

func (r *pacedReader) Read(b []byte) (int, error) {
	if d := r.p.delay(r.now()); d > 0 {
		r.sleep(d)
	}
	n, err := r.f.Read(b)
	if err == nil && n < len(b)/8 {
		r.p.record(r.now())
	}
	return n, err
}
