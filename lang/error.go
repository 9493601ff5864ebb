package lang

import (
	"fmt"
	"sort"
)

// Error is a lexical or syntax error at a position of the source.
type Error struct {
	// Filename is the name given to Parse ("stdin" by default).
	Filename string
	// Pos is the position of the offending token or character; End is the
	// position just after it.
	Pos, End Pos
	// Msg reads like bpftrace's own message, for example
	// `syntax error, unexpected }, expecting ) or ","`.
	Msg string
	// Hint, when not empty, suggests a fix in one sentence.
	Hint string
}

// Error returns "filename:line:column: message", the form Go tools use.
func (e *Error) Error() string {
	name := e.Filename
	if name == "" {
		name = "stdin"
	}
	return fmt.Sprintf("%s:%d:%d: %s", name, e.Pos.Line, e.Pos.Column, e.Msg)
}

// ErrorList is a list of errors sorted by position. Parse returns a non-empty
// ErrorList or nil, never an empty list.
type ErrorList []*Error

// Error returns the first error and how many more there are.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	case 2:
		return l[0].Error() + " (and 1 more error)"
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0].Error(), len(l)-1)
}

// Err returns l as an error, or nil if l is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// sort orders the list by position. Duplicates are dropped as errors are
// added, since looking ahead can scan the same bad character twice.
func (l ErrorList) sort() {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Pos.Offset < l[j].Pos.Offset })
}
