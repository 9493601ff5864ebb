// Package headtail provides a writer that keeps the head and the tail of
// what is written to it, for bounded capture of a child's stderr.
package headtail

import "strconv"

// Buffer keeps the first and last Max/2 bytes written to it, like os/exec
// does for Output's stderr: enough to read the start and the end of a long
// error without holding all of it. The zero value keeps nothing; set Max.
type Buffer struct {
	Max     int
	head    []byte
	tail    []byte
	skipped int64
}

// Write never fails.
func (w *Buffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := w.Max/2 - len(w.head); room > 0 {
		k := min(room, len(p))
		w.head = append(w.head, p[:k]...)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	w.tail = append(w.tail, p...)
	if over := len(w.tail) - (w.Max - w.Max/2); over > 0 {
		w.skipped += int64(over)
		w.tail = append(w.tail[:0], w.tail[over:]...)
	}
	return n, nil
}

// Len is how many bytes were written, kept or not.
func (w *Buffer) Len() int64 { return int64(len(w.head)+len(w.tail)) + w.skipped }

// String returns what was kept, with a marker where bytes were left out.
func (w *Buffer) String() string {
	if w.skipped == 0 {
		return string(w.head) + string(w.tail)
	}
	return string(w.head) + "\n... [" + strconv.FormatInt(w.skipped, 10) + " bytes omitted] ...\n" + string(w.tail)
}
