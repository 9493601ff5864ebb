package docs

import (
	"cmp"
	"slices"
)

// Helper kinds.
const (
	KindVariable    = "variable"
	KindFunction    = "function"
	KindMapFunction = "map_function"
)

// A Helper is one builtin variable, function or map function of the bpftrace
// language, tagged with the releases that have it.
//
// Probe types in Probes use the names bpftrace 0.17 uses: kfunc and kretfunc
// are called fentry and fexit from 0.20 on (canonically from 0.22).
type Helper struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`        // KindVariable, KindFunction or KindMapFunction
	Signature   string   `json:"signature"`   // e.g. "count()", "str(char *data [, int64 length])", "comm (string[16])"
	Description string   `json:"description"` // one line saying what it is for
	Unsafe      bool     `json:"unsafe"`      // refused unless bpftrace runs with --unsafe
	Async       bool     `json:"async,omitempty"`
	Probes      []string `json:"probes,omitempty"` // probe types it is limited to, when limited

	// Since is the first release that has the helper; "0.17" stands for
	// everything 0.17 had, the oldest release supported.
	Since string `json:"-"`
	// Until is the first release that no longer has the helper, or "" if
	// it is still present.
	Until string `json:"-"`
	// Notes holds changes in behaviour, keyed by the release that made them.
	Notes map[string]string `json:"-"`
}

// Helpers returns every helper of every supported release, sorted by kind
// and then by name. Entries are tagged with Since and Until; selecting those
// that apply to one installed release is left to the caller.
//
// Each call builds a fresh slice that the caller may modify.
func Helpers() []Helper {
	hs := helperTable()
	slices.SortStableFunc(hs, func(a, b Helper) int {
		return cmp.Or(cmp.Compare(kindOrder(a.Kind), kindOrder(b.Kind)), cmp.Compare(a.Name, b.Name))
	})
	return hs
}

// kindOrder lists variables first because that is the order in which an
// assistant reads them: what it can look at, then what it can call.
func kindOrder(kind string) int {
	switch kind {
	case KindVariable:
		return 0
	case KindFunction:
		return 1
	case KindMapFunction:
		return 2
	}
	return 3
}
