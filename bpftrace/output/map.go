package output

// Map is one aggregation as bpftrace printed it, typed.
//
// It is also what the MCP server returns as `maps`, so the JSON form is part
// of the contract. [Map.Text] renders it as bpftrace 0.17's text mode does.
type Map struct {
	Name string `json:"name"` // "@opens"; "@" for the anonymous map
	// Type is "value" for count(), sum(), min(), max() and plain values;
	// "avg" for avg() (entries carry Stats when the server ran it as
	// stats() to keep the count and total, else Value, the average);
	// "stats" for stats(); "hist" or "lhist" for histograms.
	Type    MapType `json:"type"`
	Entries []Entry `json:"entries"` // in bpftrace's order
	// ValueType, when set, names the bpftrace type of a "value" map's values
	// where JSON does not carry it and text mode depends on it: "kstack",
	// "ustack", "ksym", "usym" and "inet" (text mode prints their entries with
	// no newline between them; "stack" when a kstack or ustack was inferred
	// from a value starting with a newline), or "array" (printed [1,2], where
	// a tuple is printed (1, 2)).
	ValueType ValueKind `json:"value_type,omitempty"`
	// Summary gives the number of keys and the sum, smallest and largest
	// value (or a histogram's sample count and range).
	Summary *Summary `json:"summary,omitempty"`
}

// Entry is one key of a map with its value.
//
// Exactly one of Value, Stats and Buckets is meaningful, as the map's Type
// says. Its JSON always carries that one, so a zero Value is written as 0;
// a histogram's Summary comes before its Buckets.
type Entry struct {
	// Key holds the key parts; nil for a map without keys. A part is an
	// int64 (uint64 above math.MaxInt64) for a number, a string, a [Stack]
	// for a kstack or ustack, or a [Syscall] for a raw_syscalls id.
	Key []any `json:"key,omitempty"`
	// Value is the value of a "value" map, or the average of an avg() map:
	// an int64 (uint64 above math.MaxInt64), a string (also for values
	// bpftrace writes unquoted, such as strerror() and strftime()), a
	// [Record] for a struct, or []any for a tuple or an array.
	Value   any      `json:"value,omitempty"`
	Stats   *Stats   `json:"stats,omitempty"`   // stats() maps
	Buckets []Bucket `json:"buckets,omitempty"` // "hist"/"lhist"; empty but not nil for a zero()ed histogram
	// Summary is a histogram's sample count, estimated percentiles and range.
	Summary *HistSummary `json:"summary,omitempty"`
}

// Stats is the value of a stats() map entry.
type Stats struct {
	Count   int64 `json:"count"`
	Average int64 `json:"average"`
	Total   int64 `json:"total"`
}

// Bucket is one histogram bar. Bounds are inclusive.
type Bucket struct {
	Min   *int64 `json:"min,omitempty"` // nil: open below
	Max   *int64 `json:"max,omitempty"` // nil: open above
	Count uint64 `json:"count"`
}

// Record is a struct value, its fields in declaration order.
// Text mode prints it as `{ .a = 1, .b = 2 }`; its JSON is an object.
type Record []Field

// Field is one member of a [Record].
type Field struct {
	Name  string
	Value any // as [Entry.Value]
}
