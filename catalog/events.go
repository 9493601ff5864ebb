package catalog

// perfEvent is a software or hardware event as bpftrace names it, with its
// short alias.
type perfEvent struct {
	name  string
	alias string
}

// softwareEvents and hardwareEvents are bpftrace's fixed lists
// (SW_PROBE_LIST and HW_PROBE_LIST); `bpftrace -l 'software:*'` prints them
// wrongly in 0.17, so they are kept here.
var softwareEvents = []perfEvent{
	{"alignment-faults", ""},
	{"bpf-output", ""},
	{"context-switches", "cs"},
	{"cpu-clock", "cpu"},
	{"cpu-migrations", ""},
	{"dummy", ""},
	{"emulation-faults", ""},
	{"major-faults", ""},
	{"minor-faults", ""},
	{"page-faults", "faults"},
	{"task-clock", ""},
}

var hardwareEvents = []perfEvent{
	{"backend-stalls", ""},
	{"branch-instructions", "branches"},
	{"branch-misses", ""},
	{"bus-cycles", ""},
	{"cache-misses", ""},
	{"cache-references", ""},
	{"cpu-cycles", "cycles"},
	{"frontend-stalls", ""},
	{"instructions", ""},
	{"ref-cycles", ""},
}

func eventNames(prefix string, evs []perfEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = prefix + e.name
	}
	return out
}

// lookupEvent finds an event by name or alias.
func lookupEvent(evs []perfEvent, name string) (perfEvent, bool) {
	for _, e := range evs {
		if e.name == name || (e.alias != "" && e.alias == name) {
			return e, true
		}
	}
	return perfEvent{}, false
}

// timerUnits are the units profile and interval probes accept.
var profileUnits = []string{"hz", "ms", "s", "us"}
var intervalUnits = []string{"hz", "ms", "s", "us"}
