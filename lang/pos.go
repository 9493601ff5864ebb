package lang

import "fmt"

// Pos is a position in a program's source text.
//
// Offset is the 0-based byte offset. Line and Column are 1-based. Column counts
// bytes from the start of the line, not runes or display cells: a tab counts
// as one column and "é" as two, as in bpftrace's own diagnostics and in Go's
// go/token. The zero Pos is invalid.
type Pos struct {
	Offset int
	Line   int
	Column int
}

// IsValid reports whether p is a real position (the zero Pos is not).
func (p Pos) IsValid() bool { return p.Line > 0 }

// String returns "line:column".
func (p Pos) String() string {
	if !p.IsValid() {
		return "-"
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Column)
}

// Extent is the source range of a node: From is the position of its first
// byte and To the position just after its last byte. Nodes embed it, which
// gives them the Pos and End methods of [Node].
type Extent struct {
	From Pos
	To   Pos
}

// Pos returns the position of the first byte of the node.
func (e Extent) Pos() Pos { return e.From }

// End returns the position just after the last byte of the node.
func (e Extent) End() Pos { return e.To }

// Text returns the source text that the extent covers, or "" if the extent
// does not lie within src.
func (e Extent) Text(src string) string {
	if e.From.Offset < 0 || e.From.Offset > e.To.Offset || e.To.Offset > len(src) {
		return ""
	}
	return src[e.From.Offset:e.To.Offset]
}

// extent gives the parser write access to the extent of any node.
func (e *Extent) extent() *Extent { return e }
