package runner

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told to (or when slept on).
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) sleep(d time.Duration)   { c.t = c.t.Add(d) }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func ms(n int) time.Duration                 { return time.Duration(n) * time.Millisecond }

func TestPacer(t *testing.T) {
	c := newFakeClock()
	p := newPacer(ms(100), 3)
	type step struct {
		advance time.Duration
		want    time.Duration // delay asked before the wakeup
	}
	steps := []step{
		{0, 0},          // first wakeup: at once
		{ms(1), 0},      // second: within the burst
		{ms(1), 0},      // third: still within it
		{ms(1), ms(97)}, // fourth within 100 ms of the first: waits until the first is 100 ms old
		{ms(200), 0},    // after a quiet spell: at once again
	}
	for i, s := range steps {
		c.advance(s.advance)
		if got := p.delay(c.now()); got != s.want {
			t.Errorf("step %d: delay = %s, want %s", i, got, s.want)
		}
		c.advance(p.delay(c.now()))
		p.record(c.now())
	}
}

// scriptedReader returns its chunks one per Read, recording the fake time
// at which each read was issued.
type scriptedReader struct {
	c      *fakeClock
	chunks []string
	gaps   []time.Duration // time the read blocks before its chunk arrives
	issued []time.Time
}

func (r *scriptedReader) Read(b []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	r.issued = append(r.issued, r.c.now())
	r.c.advance(r.gaps[0])
	n := copy(b, r.chunks[0])
	r.chunks, r.gaps = r.chunks[1:], r.gaps[1:]
	return n, nil
}

func TestPacedReaderFirstLinesAndIdleGapsAreNotDelayed(t *testing.T) {
	c := newFakeClock()
	src := &scriptedReader{c: c}
	line := "{\"type\": \"printf\", \"data\": \"x\\n\"}\n"
	// The attach notice, the first line 1 ms later, a quiet second, one
	// line, then a stream of lines 1 ms apart.
	add := func(gap time.Duration, chunk string) {
		src.gaps = append(src.gaps, gap)
		src.chunks = append(src.chunks, chunk)
	}
	add(ms(150), "{\"type\": \"attached_probes\", \"data\": {\"probes\": 1}}\n")
	add(ms(1), line)
	add(ms(1000), line)
	for range 20 {
		add(ms(1), line)
	}
	script := slices.Clone(src.gaps)
	r := &pacedReader{f: src, p: newPacer(readWindow, readBurst), now: c.now, sleep: c.sleep}
	var got []time.Time // when each chunk was handed on
	buf := make([]byte, 64<<10)
	for {
		_, err := r.Read(buf)
		if err != nil {
			break
		}
		got = append(got, c.now())
	}
	if len(got) != 23 {
		t.Fatalf("%d reads, want 23", len(got))
	}
	// The notice, the first line and the line after the quiet second are
	// each read as soon as they arrive: the read was already waiting.
	for _, i := range []int{0, 1, 2} {
		if waited := got[i].Sub(src.issued[i]); waited != script[i] {
			t.Errorf("chunk %d: handed on %s after the read began, want %s (no pacing)", i, waited, script[i])
		}
	}
	for i := 1; i < 3; i++ {
		if !src.issued[i].Equal(got[i-1]) {
			t.Errorf("read %d was issued %s after the previous one returned; want at once", i, src.issued[i].Sub(got[i-1]))
		}
	}
	// Under the stream, reads are paced: no more than readBurst short
	// reads in any readWindow.
	for i := readBurst; i < len(got); i++ {
		if d := got[i].Sub(got[i-readBurst]); d < readWindow {
			t.Errorf("reads %d..%d within %s, want at most %d per %s", i-readBurst, i, d, readBurst, readWindow)
		}
	}
	// And it is paced at all: 20 lines 1 ms apart take more than 20 ms.
	if d := got[len(got)-1].Sub(got[2]); d < 4*readWindow {
		t.Errorf("the stream was read in %s; pacing should have spread it over at least %s", d, 4*readWindow)
	}
}

func TestPacedReaderDoesNotCountFullReads(t *testing.T) {
	c := newFakeClock()
	t0 := c.now()
	const size = 4096
	src := &scriptedReader{c: c}
	for range 10 {
		src.chunks = append(src.chunks, strings.Repeat("x", size))
		src.gaps = append(src.gaps, 0)
	}
	r := &pacedReader{f: src, p: newPacer(readWindow, readBurst), now: c.now, sleep: c.sleep}
	buf := make([]byte, size)
	for i := range 10 {
		if n, err := r.Read(buf); n != size || err != nil {
			t.Fatalf("read %d: %d, %v", i, n, err)
		}
	}
	if waited := c.now().Sub(t0); waited != 0 {
		t.Errorf("a reader that falls behind waited %s; full reads must never be delayed", waited)
	}
}

func TestSinkDue(t *testing.T) {
	c := newFakeClock()
	var s sink
	s.init(1 << 30)
	s.now = c.now
	take := func() int {
		t.Helper()
		wait, due := s.due(c.now())
		if !due {
			t.Fatalf("batch not due (wait %s)", wait)
		}
		n := len(s.pending)
		s.pace.record(c.now())
		s.pending = nil
		return n
	}
	if wait, due := s.due(c.now()); due || wait != 0 {
		t.Fatalf("empty sink: due=%v wait=%s, want to wait for a line", due, wait)
	}
	// The first line of a run is due at once, and so are the next few.
	for i := range commitBurst {
		s.add("line", false)
		if n := take(); n != 1 {
			t.Fatalf("commit %d took %d lines", i, n)
		}
		c.advance(ms(1))
	}
	// Under a stream, the next batch waits for the pace...
	s.add("line", false)
	wait, due := s.due(c.now())
	if due || wait <= 0 || wait > commitWindow {
		t.Fatalf("under load: due=%v wait=%s, want a wait within %s", due, wait, commitWindow)
	}
	// ...unless it is full,
	for range flushLines - 1 {
		s.add("line", false)
	}
	if n := take(); n != flushLines {
		t.Fatalf("full batch: took %d lines", n)
	}
	// and after a quiet spell a line is due at once again.
	c.advance(2 * commitWindow)
	s.add("late", false)
	if n := take(); n != 1 {
		t.Fatalf("after a quiet spell took %d", n)
	}
	// At the end, what is queued is due whatever the pace.
	s.add("a", false)
	s.add("b", false)
	s.close()
	if n := take(); n != 2 {
		t.Fatalf("at close took %d", n)
	}
}

func TestSinkTakeWakesOnTheFirstLine(t *testing.T) {
	var s sink
	s.init(1 << 30)
	// A pace that would hold any batch but the first for an hour: the
	// first line must still come out at once, woken by add, not a timer.
	s.pace = newPacer(time.Hour, 1)
	got := make(chan []string)
	go func() {
		b, _, _, _ := s.take()
		got <- b
	}()
	s.add("first", false)
	select {
	case b := <-got:
		if strings.Join(b, ",") != "first" {
			t.Fatalf("batch %q, want [first]", b)
		}
	case <-time.After(time.Minute):
		t.Fatal("take did not hand on the first line")
	}
	// The next one waits for the pace (an hour): closing the sink ends
	// the wait and hands it on.
	go func() {
		b, _, _, _ := s.take()
		got <- b
	}()
	s.add("second", false)
	select {
	case b := <-got:
		t.Fatalf("second batch %q came out under a pace of one per hour", b)
	case <-time.After(50 * time.Millisecond):
	}
	s.close()
	if b := <-got; strings.Join(b, ",") != "second" {
		t.Fatalf("batch at close %q", b)
	}
}
