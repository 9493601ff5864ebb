package output

import (
	"bytes"
	"sort"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

// Decoder decodes lines of `bpftrace -f json`. The zero value is ready to use.
//
// The decoder only reads its Schema; it can be shared by decoders running at the same time. A Decoder keeps
// state across lines (to follow the exit-time map dump) and must not be used
// by several goroutines at once.
type Decoder struct {
	// Schema, when set, describes the program's maps (see [MapSchema]):
	// how to split keys, hist() from lhist(), value types JSON loses. It
	// also names every map, so that the blank lines text mode prints for
	// each map empty at exit (two for stats and avg), where JSON prints
	// nothing, can be put back into the Text of the next map of the
	// exit-time dump; [Decoder.End] returns the ones after the last map.
	// Without it the decoder infers what it can from the data.
	Schema Schema
	// Release is the bpftrace that writes the stream, for the quirks of its
	// JSON (see [Decoder.keysEscapedTwice]); zero decodes as 0.17 writes.
	Release version.Version

	prevBlank bool   // the last line was empty
	dumping   bool   // two empty lines seen: the exit-time dump is under way
	lastName  string // the last map name of the dump
}

// Record types as bpftrace writes them. Events use these constants, so
// decoding a type allocates nothing.
const (
	typePrintf         = "printf"
	typeTime           = "time"
	typeCat            = "cat"
	typeJoin           = "join"
	typeSyscall        = "syscall"
	typeValue          = "value"
	typeMap            = "map"
	typeHist           = "hist"
	typeStats          = "stats"
	typeAttachedProbes = "attached_probes"
	typeLostEvents     = "lost_events"
	typeHelperError    = "helper_error"
)

// knownType returns the constant for a record type, or "".
func knownType(b []byte) string {
	switch string(b) {
	case typePrintf:
		return typePrintf
	case typeTime:
		return typeTime
	case typeCat:
		return typeCat
	case typeJoin:
		return typeJoin
	case typeSyscall:
		return typeSyscall
	case typeValue:
		return typeValue
	case typeMap:
		return typeMap
	case typeHist:
		return typeHist
	case typeStats:
		return typeStats
	case typeAttachedProbes:
		return typeAttachedProbes
	case typeLostEvents:
		return typeLostEvents
	case typeHelperError:
		return typeHelperError
	case typeErrorf:
		return typeErrorf
	case typeWarnf:
		return typeWarnf
	case typeRuntimeError:
		return typeRuntimeError
	case typeTseries:
		return typeTseries
	}
	return ""
}

func isMessage(typ string) bool {
	switch typ {
	case typePrintf, typeTime, typeCat, typeJoin, typeSyscall:
		return true
	}
	return false
}

// Decode decodes one line (without its trailing newline). An empty line is KindBlank.
//
// A line bpftrace could not have written returns an error wrapping a
// *[SyntaxError]: one that is not a JSON object (0.17's unquoted map values
// aside), or a record of a known type whose payload is not what bpftrace
// writes. Records of other types are returned as KindUnknown.
func (d *Decoder) Decode(line []byte) (Event, error) {
	if len(line) == 0 {
		if d.prevBlank {
			d.dumping, d.lastName = true, ""
		}
		d.prevBlank = true
		return Event{Kind: KindBlank, Text: "\n"}, nil
	}
	d.prevBlank = false
	if ev, ok := decodeMessage(line); ok {
		return ev, nil
	}
	return d.decodeRecord(line)
}

// End returns what text mode printed after the last record: the blank lines
// of maps still empty at exit that sort after the last map of the dump, as
// a KindText event of Type "". It reports false when there are none, when
// [Decoder.Schema] is unset, or when no dump was seen. Call it once the
// stream ended with bpftrace exiting normally; it resets the dump state.
func (d *Decoder) End() (Event, bool) {
	if !d.dumping {
		return Event{}, false
	}
	text := d.emptyMapsBefore("")
	d.dumping, d.lastName = false, ""
	if text == "" {
		return Event{}, false
	}
	return Event{Kind: KindText, Text: text}, true
}

// emptyMapsBefore renders the maps of [Decoder.Schema] that sort between the
// last map of the dump and name ("" for no bound): bpftrace dumps every map
// in name order, and JSON skips the empty ones.
func (d *Decoder) emptyMapsBefore(name string) string {
	var names []string
	for m := range d.Schema {
		if m > d.lastName && (name == "" || m < name) {
			names = append(names, m)
		}
	}
	sort.Strings(names)
	var text string
	for _, m := range names {
		text += emptyMapText(d.Schema[m].Type)
	}
	return text
}

// messagePrefix and messageData frame the records bpftrace writes with
// JsonOutput::message, byte for byte.
var (
	messagePrefix = []byte(`{"type": "`)
	messageData   = []byte(`", "data": "`)
)

// decodeMessage is the fast path for printf and the other string records:
// it reads the framing bpftrace writes and unescapes the string in one pass
// and one allocation. It reports false for anything else.
func decodeMessage(line []byte) (Event, bool) {
	rest, ok := bytes.CutPrefix(line, messagePrefix)
	if !ok {
		return Event{}, false
	}
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return Event{}, false
	}
	typ := knownType(rest[:q])
	if !isMessage(typ) {
		return Event{}, false
	}
	body, ok := bytes.CutPrefix(rest[q:], messageData)
	if !ok {
		return Event{}, false
	}
	s, n, err := unquote(body)
	if err != nil || n != len(body)-1 || body[n] != '}' {
		return Event{}, false
	}
	return messageEvent(typ, s), true
}

func messageEvent(typ, s string) Event {
	if typ == typeJoin {
		s += "\n" // TextOutput::message with nl = true
	}
	return Event{Kind: KindText, Type: typ, Text: s}
}
