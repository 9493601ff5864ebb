package output

// MapType is how bpftrace prints a map, which follows from the function that
// fills it. It is also [Map.Type] in results.
type MapType string

// The map types.
const (
	// TypeValue is a map of count(), sum(), min(), max() or plain values.
	TypeValue MapType = "value"
	// TypeAvg is a map of avg(): text mode prints the average alone.
	TypeAvg MapType = "avg"
	// TypeStats is a map of stats(): count, average and total.
	TypeStats MapType = "stats"
	// TypeHist is a map of hist(): power-of-two buckets.
	TypeHist MapType = "hist"
	// TypeLhist is a map of lhist(): linear buckets.
	TypeLhist MapType = "lhist"
)

// IsHist reports whether maps of this type hold histograms.
func (t MapType) IsHist() bool { return t == TypeHist || t == TypeLhist }

// KeyKind is what one part of a map key holds, as far as the program says.
type KeyKind string

// The key kinds.
const (
	// KeyAny is a part the program does not type (a variable, an
	// expression): a part that reads as an integer is taken for one.
	KeyAny KeyKind = ""
	// KeyInt is an integer: pid, cpu, an integer literal, a field.
	KeyInt KeyKind = "int"
	// KeyString is text, even when it reads as a number: comm, str(), func.
	KeyString KeyKind = "string"
	// KeyStack is kstack or ustack: the key becomes a list of frames.
	KeyStack KeyKind = "stack"
	// KeySyscall is a syscall number (args->id of raw_syscalls): the key
	// becomes the syscall's name on this host's architecture.
	KeySyscall KeyKind = "syscall"
)

// ValueKind is the bpftrace type of a value map's values where JSON does not
// carry it and text mode depends on it. See [Map.ValueType].
type ValueKind string

// The value kinds.
const (
	ValueAny    ValueKind = ""
	ValueKstack ValueKind = "kstack"
	ValueUstack ValueKind = "ustack"
	ValueKsym   ValueKind = "ksym"
	ValueUsym   ValueKind = "usym"
	ValueInet   ValueKind = "inet"
	ValueArray  ValueKind = "array"
	// ValueBuf is the result of buf(): 0.27 writes it as an array of
	// bytes, earlier releases as a string with \xNN escapes.
	ValueBuf ValueKind = "buf"
	// ValueStack is a kstack or ustack the decoder inferred from a value
	// that starts with a newline.
	ValueStack ValueKind = "stack"
)

// runTogether reports whether text mode prints values of this kind without
// a newline between entries: stacks end in one already, and as of 0.17
// symbols and addresses run together.
func (k ValueKind) runTogether() bool {
	switch k {
	case ValueStack, ValueKstack, ValueUstack, ValueKsym, ValueUsym, ValueInet:
		return true
	}
	return false
}

// MapSchema is what a program says about one of its maps, which bpftrace's
// JSON loses: its type (JSON writes hist() and lhist() alike), how many parts
// its key has (JSON joins them with ","), what each part holds, and value
// types JSON prints like others.
//
// Validation derives it from the program, the runner passes it to the
// decoder, and results carry what follows from it.
type MapSchema struct {
	Name string  // "@m"; "@" for the anonymous map
	Type MapType // as the map's first aggregating assignment says
	// Keys has one kind per key part; nil for a map without a key.
	Keys  []KeyKind
	Value ValueKind // value maps only
	// Agg is the function that fills the map, which Type alone does not
	// tell for value maps (count, sum, min and max print alike): it says
	// how the map combines across hosts ([Merge]).
	Agg Agg
}

// Keyed reports whether the map has a key.
func (s MapSchema) Keyed() bool { return len(s.Keys) > 0 }

// Schema is every map of a program, by name. A nil Schema is valid: the
// decoder then infers what it can from the data.
type Schema map[string]MapSchema
