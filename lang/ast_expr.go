package lang

import "strings"

// IntLit is an integer literal.
type IntLit struct {
	Extent
	Raw   string // as written: "0x10", "1e6", "10ul"
	Value uint64
}

// StringLit is a string literal.
type StringLit struct {
	Extent
	Raw   string // as written, with quotes and escapes
	Value string // with escapes resolved
}

// Ident is a name that is not a builtin variable: an enum or macro constant
// (AF_INET, TASK_RUNNING), a stack mode (perf), true or false.
type Ident struct {
	Extent
	Name string
}

// Builtin is a builtin variable such as pid, comm, args, retval or arg0.
// See [IsBuiltin].
type Builtin struct {
	Extent
	Name string
}

// Var is a scratch variable: $x.
type Var struct {
	Extent
	Name string // with the $
}

// Positional is a positional parameter $1, $2, ... or the count $#.
type Positional struct {
	Extent
	Raw   string // "$1" or "$#"
	N     int    // 1 for $1; 0 for $#
	Count bool   // true for $#
}

// MapExpr is a map, with its keys if any: @m, @m[k], @m[k1, k2], @.
type MapExpr struct {
	Extent
	Name string // with the @; "@" for the anonymous map
	Keys []Expr // nil when there are no brackets
}

// Call is a call of a function: printf("%d", pid), count(), system("id").
type Call struct {
	Extent
	Name    string
	NameEnd Pos // the position just after the name
	Args    []Expr
}

// Binary is a binary operation: x + y, a && b.
type Binary struct {
	Extent
	Op    string
	OpPos Pos
	X, Y  Expr
}

// Unary is a unary operation: !x, ~x, -x, *p (dereference), &x (address,
// bpftrace 0.20 and later), ++x, --x, or the postfix x++ and x--.
type Unary struct {
	Extent
	Op      string
	OpPos   Pos
	X       Expr
	Postfix bool
}

// Ternary is cond ? then : else.
type Ternary struct {
	Extent
	Cond, Then, Else Expr
}

// Cast is (type)x.
type Cast struct {
	Extent
	Type *Type
	X    Expr
}

// Field is a field access x.name or x->name, or a tuple element t.0.
type Field struct {
	Extent
	X       Expr
	Arrow   bool // -> rather than .
	Name    string
	NamePos Pos
}

// Index is x[i] on something other than a map name: an array, a pointer,
// or the value of a map element (@m[k][i]).
type Index struct {
	Extent
	X     Expr
	Index Expr
}

// Tuple is (a, b, ...), with at least two elements.
type Tuple struct {
	Extent
	Elems []Expr
}

// Paren is a parenthesised expression (x).
type Paren struct {
	Extent
	X Expr
}

// Sizeof is sizeof(type) or sizeof(expr); exactly one of Type and X is set.
type Sizeof struct {
	Extent
	Type *Type
	X    Expr
}

// Offsetof is offsetof(struct s, field.sub) or offsetof(expr, field)
// (bpftrace 0.18 and later); exactly one of Type and X is set.
type Offsetof struct {
	Extent
	Type   *Type
	X      Expr
	Fields []string
}

// Range is lo..hi in a for loop.
type Range struct {
	Extent
	Lo, Hi Expr
}

// BadExpr stands for an expression that did not parse.
type BadExpr struct{ Extent }

// Type is a type name in a cast, sizeof, offsetof or declaration:
// uint8, struct task_struct *, string[16], foo_t.
type Type struct {
	Extent
	// Base is the type name: "uint8", "struct task_struct", "foo_t".
	Base string
	// Array is true for an array type; Len is its length or nil for [].
	Array bool
	Len   Expr
	// Ptr is the number of * after the name.
	Ptr int
}

// String returns the type as written, normalised: "struct task_struct **".
func (t *Type) String() string {
	var b strings.Builder
	b.WriteString(t.Base)
	if t.Array {
		b.WriteByte('[')
		if l, ok := t.Len.(*IntLit); ok {
			b.WriteString(l.Raw)
		}
		b.WriteByte(']')
	}
	if t.Ptr > 0 {
		b.WriteByte(' ')
		b.WriteString(strings.Repeat("*", t.Ptr))
	}
	return b.String()
}

func (*IntLit) exprNode()     {}
func (*StringLit) exprNode()  {}
func (*Ident) exprNode()      {}
func (*Builtin) exprNode()    {}
func (*Var) exprNode()        {}
func (*Positional) exprNode() {}
func (*MapExpr) exprNode()    {}
func (*Call) exprNode()       {}
func (*Binary) exprNode()     {}
func (*Unary) exprNode()      {}
func (*Ternary) exprNode()    {}
func (*Cast) exprNode()       {}
func (*Field) exprNode()      {}
func (*Index) exprNode()      {}
func (*Tuple) exprNode()      {}
func (*Paren) exprNode()      {}
func (*Sizeof) exprNode()     {}
func (*Offsetof) exprNode()   {}
func (*Range) exprNode()      {}
func (*BadExpr) exprNode()    {}
