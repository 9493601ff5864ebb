package docs

import (
	"embed"
	"fmt"
	"slices"
	"strings"
)

//go:embed guides/*.tmpl
var guideTemplates embed.FS

// Guides returns the guided investigations, sorted by name. Their programs
// use only tracepoint, profile, uprobe and usdt probes, which work on hosts
// without kprobes.
func Guides() []Guide {
	seconds := GuideArg{Name: "seconds", Description: "how long each tracing run should last, in seconds (default 10)"}
	target := GuideArg{Name: "target", Description: "the process to study: a PID, or a process name as shown by ps", Required: true}
	guides := []Guide{
		{
			Name:        "process-activity",
			Title:       "What is this process doing?",
			Description: "Profile one process: its system calls and errors, files, CPU stacks, waiting, network and children.",
			Args:        []GuideArg{target, seconds},
		},
		{
			Name:        "disk-latency",
			Title:       "Where does disk latency come from?",
			Description: "Split disk latency into device time, queueing and what applications see, and find who issues the I/O.",
			Args: []GuideArg{
				{Name: "device", Description: "optional device to focus on, such as vda or 254:0"},
				seconds,
			},
		},
		{
			Name:        "who-opens-file",
			Title:       "Who opens this file?",
			Description: "Find the processes that open a file, how often, and whether the opens succeed.",
			Args: []GuideArg{
				{Name: "path", Description: "the file to watch, for example /etc/resolv.conf", Required: true},
				seconds,
			},
		},
		{
			Name:        "syscall-hotspots",
			Title:       "Where do system calls cost time?",
			Description: "Find the busiest callers, the slowest and most failing system calls, and the code paths behind them.",
			Args: []GuideArg{
				{Name: "target", Description: "optional process to focus on: a PID or a process name"},
				seconds,
			},
		},
		{
			Name:        "cpu-hotspots",
			Title:       "What is using the CPUs?",
			Description: "Sample the CPUs to find the busiest processes and code paths, and check whether work waits for a CPU.",
			Args: []GuideArg{
				{Name: "target", Description: "optional process to focus on: a PID or a process name"},
				seconds,
			},
		},
	}
	for i := range guides {
		text, err := guideTemplates.ReadFile("guides/" + guides[i].Name + ".tmpl")
		if err != nil {
			// The templates are embedded; a missing one is a bug caught
			// by the package's tests.
			panic(fmt.Sprintf("docs: read guide template: %v", err))
		}
		guides[i].Template = string(text)
	}
	slices.SortFunc(guides, func(a, b Guide) int { return strings.Compare(a.Name, b.Name) })
	return guides
}
