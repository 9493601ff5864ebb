package output

import "fmt"

// Kind says what an [Event] carries.
type Kind uint8

const (
	KindBlank          Kind = iota // empty line: bpftrace prints two before the exit-time map dump
	KindText                       // printf, time, cat, join, syscall (system()), value (print(x))
	KindMap                        // map, hist, stats (print(@m) in the program, and the exit-time dump)
	KindAttachedProbes             // attached_probes: Probes
	KindLostEvents                 // lost_events: Lost
	KindHelperError                // helper_error: HelperError
	KindMessage                    // errorf, warnf, runtime_error (bpftrace 0.24+): Message; Text empty
	KindUnknown                    // any other type: Type and Raw kept; Text empty
)

var kindNames = [...]string{
	KindBlank:          "blank",
	KindText:           "text",
	KindMap:            "map",
	KindAttachedProbes: "attached_probes",
	KindLostEvents:     "lost_events",
	KindHelperError:    "helper_error",
	KindMessage:        "message",
	KindUnknown:        "unknown",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Event is one decoded line.
type Event struct {
	Kind Kind
	Type string // the record's "type" as bpftrace wrote it ("" for blank)
	// Text is exactly what text mode prints for this record, trailing
	// newlines included: "\n" for KindBlank; "" for attached_probes,
	// lost_events, helper_error and unknown records (text mode prints
	// "Attaching N probes...", "Lost N events" and, with -k, a warning with
	// a source excerpt for the first three). In the exit-time dump,
	// the Text of a map is preceded by the blank lines text mode prints for
	// the empty maps before it, when [Decoder.Maps] names them.
	Text        string
	Probes      int          // KindAttachedProbes: the planned number of probes
	Lost        uint64       // KindLostEvents: events the kernel dropped
	HelperError *HelperError // KindHelperError
	Message     *Message     // KindMessage
	Map         *Map         // KindMap
	Value       any          // KindText of type "value": what print(x) printed, typed as [Entry.Value]
	Raw         []byte       // KindUnknown only (a copy)
}

// HelperErrorAdvice says what helper errors usually mean and what to do,
// for whoever sees only their number.
const HelperErrorAdvice = "BPF helper calls failed while tracing, so some events were not recorded. " +
	"A failed map update (map_update_elem) means a map was full: raise the map size " +
	"(BPFTRACE_MAP_KEYS_MAX in bpftrace's environment; newer versions also take max_map_keys in a config block), " +
	"key the map by fewer distinct values, use an LRU map where this bpftrace can declare one, " +
	"or clear() it from an interval probe. " +
	"A failed probe_read means memory could not be read (a user pointer not yet paged in): usually harmless."

// HelperError is a BPF helper's failure, reported with -k or -kk.
type HelperError struct {
	Helper  string `json:"helper"`
	Retcode int    `json:"retcode"`
	// Msg is the error's text ("Bad address"), from bpftrace 0.23.
	Msg string `json:"message,omitempty"`
	// Filename is the program's file name ("stdin"), from bpftrace 0.24.
	Filename string `json:"filename,omitempty"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
}
