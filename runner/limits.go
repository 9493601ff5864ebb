package runner

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits bound what executions may use. The zero value of a field means its
// default (see [DefaultLimits]).
type Limits struct {
	MaxConcurrent   int           // executions running at once in this server
	DefaultTimeout  time.Duration // when a request gives none
	MaxTimeout      time.Duration // longest a request may ask for
	MaxOutputBytes  int64         // stored output per execution; past it lines are dropped and counted
	MaxProgramBytes int           // largest program accepted
	MaxLineBytes    int           // longer output lines are cut
}

// DefaultLimits are the limits in force when nothing is configured.
func DefaultLimits() Limits {
	return Limits{
		MaxConcurrent:   4,
		DefaultTimeout:  10 * time.Second,
		MaxTimeout:      300 * time.Second,
		MaxOutputBytes:  64 << 20,
		MaxProgramBytes: 64 << 10,
		MaxLineBytes:    8 << 10,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = d.MaxConcurrent
	}
	if l.DefaultTimeout <= 0 {
		l.DefaultTimeout = d.DefaultTimeout
	}
	if l.MaxTimeout <= 0 {
		l.MaxTimeout = d.MaxTimeout
	}
	if l.DefaultTimeout > l.MaxTimeout {
		l.DefaultTimeout = l.MaxTimeout
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxProgramBytes <= 0 {
		l.MaxProgramBytes = d.MaxProgramBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = d.MaxLineBytes
	}
	return l
}

// LimitError is a request refused by a limit. Its message names the limit,
// the value asked for, and what to do instead.
type LimitError struct {
	Limit string // "timeout", "concurrent executions", "program size"
	Msg   string
	Hint  string
}

func (e *LimitError) Error() string {
	if e.Hint == "" {
		return e.Msg
	}
	return e.Msg + ". " + e.Hint
}

func timeoutError(asked time.Duration, max time.Duration) *LimitError {
	return &LimitError{
		Limit: "timeout",
		Msg:   fmt.Sprintf("timeout of %s seconds is out of range: it must be between 1 and %d seconds", strconv.FormatFloat(asked.Seconds(), 'f', -1, 64), int(max.Seconds())),
		Hint:  fmt.Sprintf("Ask for at most %d seconds; for a longer investigation, run again after this one ends, or aggregate in maps and read them with get_result", int(max.Seconds())),
	}
}

func concurrencyError(max int, running []string) *LimitError {
	return &LimitError{
		Limit: "concurrent executions",
		Msg:   fmt.Sprintf("%d executions are already running, the most allowed at once (running: %s)", max, strings.Join(running, ", ")),
		Hint:  "Stop one with stop_execution, or wait for one to end (get_result with wait_seconds)",
	}
}

func programSizeError(size, max int) *LimitError {
	return &LimitError{
		Limit: "program size",
		Msg:   fmt.Sprintf("program is %d bytes, more than the %d allowed", size, max),
		Hint:  "Shorten it: split it into several programs, or drop probes you do not need",
	}
}
