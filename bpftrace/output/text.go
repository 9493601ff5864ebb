package output

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Text renders the map exactly as bpftrace 0.17's text mode prints it,
// trailing newlines included (TextOutput::map, map_hist and map_stats in
// src/output.cpp).
//
// A map without entries renders as what text mode prints for an empty map:
// a blank line, two for "stats" and "avg".
func (m *Map) Text() string {
	var b strings.Builder
	switch m.Type {
	case TypeTseries:
		writeTseries(&b, m)
	case TypeHist, TypeLhist:
		for i, e := range m.Entries {
			if i > 0 {
				b.WriteByte('\n')
			}
			writeKey(&b, m.Name, e.Key)
			b.WriteString(": \n")
			writeBuckets(&b, e.Buckets, m.Type == TypeLhist)
		}
		b.WriteByte('\n')
	case TypeStats, TypeAvg:
		for i, e := range m.Entries {
			if i > 0 {
				b.WriteByte('\n')
			}
			writeKey(&b, m.Name, e.Key)
			b.WriteString(": ")
			switch s := e.Stats; {
			case s != nil && m.Type == TypeAvg:
				// An avg() run as stats() to keep its count and total:
				// text mode of avg() prints the average alone.
				b.WriteString(strconv.FormatInt(s.Average, 10))
			case s != nil:
				fmt.Fprintf(&b, "count %d, average %d, total %d", s.Count, s.Average, s.Total)
			default:
				writeValue(&b, e.Value, false)
			}
		}
		b.WriteString("\n\n")
	default:
		// bpftrace separates entries with a newline except for the value
		// kinds that run together.
		sep := "\n"
		if m.ValueType.runTogether() {
			sep = ""
		}
		array := m.ValueType == ValueArray
		for i, e := range m.Entries {
			if i > 0 {
				b.WriteString(sep)
			}
			writeKey(&b, m.Name, e.Key)
			b.WriteString(": ")
			if m.ValueType == ValueBuf {
				writeBuf(&b, e.Value)
				continue
			}
			writeValue(&b, e.Value, array)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// emptyMapText is what text mode prints for a map of this type without
// entries, which JSON mode does not print at all.
func emptyMapText(typ MapType) string {
	return (&Map{Type: typ}).Text()
}

func writeKey(b *strings.Builder, name string, key []any) {
	b.WriteString(name)
	if key == nil {
		return
	}
	b.WriteByte('[')
	for i, k := range key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(keyPartText(k))
	}
	b.WriteByte(']')
}

// valueText renders a value as text mode prints it: tuples as (1, two),
// records as { .a = 1 }, strings as they are. Arrays are indistinguishable
// from tuples in JSON; valueText prints []any as a tuple unless every
// element is a [Record], which only an array can hold.
func valueText(v any) string {
	var b strings.Builder
	writeValue(&b, v, false)
	return b.String()
}

// writeValue follows Output::value_to_str and its tuple_to_str,
// array_to_str and struct_to_str helpers.
func writeValue(b *strings.Builder, v any, array bool) {
	switch v := v.(type) {
	case nil:
	case string:
		b.WriteString(v)
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case json.Number:
		b.WriteString(string(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case Record:
		b.WriteString("{ ")
		for i, f := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('.')
			b.WriteString(f.Name)
			b.WriteString(" = ")
			writeValue(b, f.Value, false)
		}
		b.WriteString(" }")
	case []any:
		open, sep, close := "(", ", ", ")"
		if array || isRecordArray(v) {
			open, sep, close = "[", ",", "]"
		}
		b.WriteString(open)
		for i, e := range v {
			if i > 0 {
				b.WriteString(sep)
			}
			writeValue(b, e, array)
		}
		b.WriteString(close)
	default:
		fmt.Fprint(b, v)
	}
}

func isRecordArray(v []any) bool {
	for _, e := range v {
		if _, ok := e.(Record); !ok {
			return false
		}
	}
	return len(v) > 0
}

// writeBuf writes a buf() value as text mode prints it: printable ASCII as
// it is, other bytes as \xNN. From 0.27 JSON gives the bytes as numbers;
// before, the string text mode prints.
func writeBuf(b *strings.Builder, v any) {
	bytes, ok := v.([]any)
	if !ok {
		writeValue(b, v, false)
		return
	}
	for _, e := range bytes {
		n, ok := e.(int64)
		if !ok || n < 0 || n > 0xff {
			// Not a byte: show the value as JSON gave it.
			writeValue(b, v, false)
			return
		}
	}
	for _, e := range bytes {
		c := byte(e.(int64))
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(b, "\\x%02x", c)
		}
	}
}
