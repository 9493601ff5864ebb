package lang

import "strings"

// Node is an element of the syntax tree. Pos is the position of its first
// byte and End the position just after its last byte, so that
// src[n.Pos().Offset:n.End().Offset] is its source text.
type Node interface {
	Pos() Pos
	End() Pos
}

// Expr is an expression node.
type Expr interface {
	Node
	exprNode()
}

// Stmt is a statement node.
type Stmt interface {
	Node
	stmtNode()
}

// Program is a whole bpftrace program. Top-level items are kept in their
// own lists, each in source order.
type Program struct {
	Extent
	// Name is the name given to Parse, used in error messages.
	Name string
	// Directives are the preprocessor lines (#include, #define, #ifdef, ...),
	// wherever they appear, including inside C definitions (clang still
	// processes those) and inside probes (where they are a syntax error).
	Directives []*Directive
	// Defs are the C struct, union and enum definitions.
	Defs []*CDefinition
	// Config is the config = { ... } block of bpftrace 0.20 and later, or nil.
	Config *Config
	// Imports are the import "name"; lines of bpftrace 0.24 and later. Each
	// makes bpftrace read another file of bpftrace code or C.
	Imports []*Import
	// MapDecls are the let @m = hash(N); declarations of bpftrace 0.24 and
	// later.
	MapDecls []*MapDecl
	// Macros are the macro definitions of bpftrace 0.24 and later.
	Macros []*Macro
	// Funcs are the subprograms (fn name(...): type { ... }) of bpftrace 0.21
	// and later.
	Funcs []*Func
	// Probes are the probes in source order.
	Probes []*Probe
	// Comments are the comments, including #! lines, which bpftrace ignores.
	Comments []*Comment
}

// Comment is a // line comment, a /* block */ comment or a #! line.
type Comment struct {
	Extent
	Text string // as written, including the // or /* */ or #!
}

// Directive is a preprocessor line, passed by bpftrace to clang.
type Directive struct {
	Extent
	// Text is the whole line from # to the end of the line, without the
	// line break. bpftrace 0.17 does not join lines ending in a backslash,
	// and neither does Parse.
	Text string
	// Name is the directive name: "include", "define", "ifndef", ...; ""
	// for a # with no name after it.
	Name string
	// Arg is the text after the name, with surrounding blanks removed.
	Arg string
	// InDefinition is true for a line inside the braces of a C definition.
	InDefinition bool
}

// IsInclude reports whether the directive makes clang read a file:
// #include, #include_next or #import.
func (d *Directive) IsInclude() bool {
	switch d.Name {
	case "include", "include_next", "import":
		return true
	}
	return false
}

// IncludePath returns the file named by an #include-like directive and
// whether it is written in angle brackets (<linux/sched.h>). For a form
// that clang would macro-expand first (#include FOO) it returns Arg as is.
func (d *Directive) IncludePath() (path string, angled bool) {
	a := d.Arg
	switch {
	case strings.HasPrefix(a, "<"):
		if i := strings.IndexByte(a, '>'); i > 0 {
			return a[1:i], true
		}
		return a[1:], true
	case strings.HasPrefix(a, `"`):
		if i := strings.IndexByte(a[1:], '"'); i >= 0 {
			return a[1 : i+1], false
		}
		return a[1:], false
	}
	return a, false
}

// CDefinition is a C struct, union or enum definition at the top level,
// kept as raw text: bpftrace hands it to clang.
type CDefinition struct {
	Extent
	Kind string // "struct", "union" or "enum"
	Name string // "" for an anonymous definition
	// Text is the source from the keyword through the closing brace and the
	// optional semicolon after it.
	Text string
}

// Config is a config = { name = value; ... } block.
type Config struct {
	Extent
	Assigns []*ConfigAssign
}

// ConfigAssign is one name = value setting of a config block.
type ConfigAssign struct {
	Extent
	Name    string
	NamePos Pos
	Value   Expr
}

// Import is import "name"; before the probes. bpftrace resolves the name
// to a file of bpftrace code, a C header or a directory of them, and reads
// it: a policy must see it like an #include.
type Import struct {
	Extent
	Name    string // the string's value
	NamePos Pos    // the position of the string literal
}

// MapDecl declares a map before the probes: let @m = hash(1024);. Value is
// the map kind called with its size, as written.
type MapDecl struct {
	Extent
	Map   *MapExpr
	Value Expr
}

// Macro is a macro definition: macro name($a, @b, c) { ... }. bpftrace
// pastes its body where it is called, so its calls run in the probes that
// use it: walking a Program visits macro bodies like probe bodies.
type Macro struct {
	Extent
	Name   string
	Params []Expr // *Var, *MapExpr or *Ident
	Body   *Block
}

// Func is a subprogram: fn name($a: int64): int64 { ... }.
type Func struct {
	Extent
	Name   string
	Params []*FuncParam
	Result *Type // nil when not written
	Body   *Block
}

// FuncParam is one parameter of a subprogram.
type FuncParam struct {
	Extent
	Var  *Var
	Type *Type
}

// Probe is a list of attach points with an optional predicate and a body.
type Probe struct {
	Extent
	AttachPoints []*AttachPoint
	// Predicate is the expression between the slashes of /expr/, or nil.
	Predicate Expr
	Body      *Block
}

// Block is a brace-delimited list of statements: a probe body, the branch of
// an if, a loop body, or (bpftrace 0.24 and later) a nested block.
type Block struct {
	Extent
	Stmts []Stmt
}

// ExprStmt is an expression used as a statement, usually a call.
type ExprStmt struct {
	Extent
	X Expr
}

// Assign is an assignment to a map or a scratch variable: @m[k] = v, $x += 1.
type Assign struct {
	Extent
	Target Expr   // *MapExpr or *Var
	Op     string // "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=" or ">>="
	OpPos  Pos
	Value  Expr
}

// VarDecl declares a scratch variable: let $x, let $x: int64 = 1 (bpftrace
// 0.22 and later). $x: int64 = 1 without let parses too, so that it can be
// diagnosed, but no bpftrace release accepts it.
type VarDecl struct {
	Extent
	Let   bool
	Var   Expr  // *Var, or *MapExpr for let @m = ...
	Type  *Type // nil when not written
	Value Expr  // nil when not written
}

// If is an if statement; else if chains nest in Else.
type If struct {
	Extent
	Parens bool // the condition is in parentheses (required before 0.25)
	Cond   Expr
	Then   *Block
	Else   Stmt // nil, *Block or *If
}

// Unroll is unroll(N) { ... }.
type Unroll struct {
	Extent
	Parens bool // the count is in parentheses (required before 0.25)
	Count  Expr
	Body   *Block
}

// While is while (cond) { ... }.
type While struct {
	Extent
	Parens bool // the condition is in parentheses (required before 0.25)
	Cond   Expr
	Body   *Block
}

// For is for ($kv : @map) { ... } (bpftrace 0.21) or for ($i : 0..10) { ... }
// (bpftrace 0.24); from 0.25 the parentheses may be left out.
type For struct {
	Extent
	// Parens is true when the header is in parentheses: for ($i : ...).
	Parens bool
	Var    *Var
	Iter   Expr // usually *MapExpr or *Range
	Body   *Block
}

// Jump is return, break or continue.
type Jump struct {
	Extent
	Kind  string // "return", "break" or "continue"
	Value Expr   // return's value (subprograms), or nil
}

// BadStmt stands for a statement that did not parse.
type BadStmt struct{ Extent }

func (*Block) stmtNode()    {}
func (*ExprStmt) stmtNode() {}
func (*Assign) stmtNode()   {}
func (*VarDecl) stmtNode()  {}
func (*If) stmtNode()       {}
func (*Unroll) stmtNode()   {}
func (*While) stmtNode()    {}
func (*For) stmtNode()      {}
func (*Jump) stmtNode()     {}
func (*BadStmt) stmtNode()  {}
