package runner

import "github.com/bpftrace-mcp/bpftrace-mcp/store"

// Status values of an execution. They keep the three values of the
// original server.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// End reasons: why an execution ended.
const (
	EndExit        = "exit"        // the program called exit(), or bpftrace exited on its own
	EndTimeout     = "timeout"     // it ran its full time and was stopped; a normal end, maps kept
	EndStopped     = "stopped"     // stop_execution
	EndError       = "error"       // bpftrace failed
	EndInterrupted = "interrupted" // the server went away while it ran
)

// EndRan reports, for an execution the server asked to stop (its timeout,
// stop_execution, a shutdown) once it has ended, whether bpftrace exited
// by itself: END probes ran and the maps were printed. It is false when
// bpftrace died of a signal instead, above all when it did not exit within
// its stop budget after SIGINT (it was suspended by SIGSTOP, or stuck) and
// was killed: END did not run and the maps were lost; error_message says
// why. stopped is false for an execution that was not asked to stop or
// has not ended, for which the question does not arise.
func EndRan(e *store.Execution) (ran, stopped bool) {
	if e.Status == StatusRunning || e.StopAt == nil || e.ExitCode == nil {
		return false, false
	}
	// Exit codes above 128 are the runner's record of a death by signal
	// (128+n); bpftrace's own exit codes are 0, 1 and 255.
	code := *e.ExitCode
	return code <= 128 || code == 255, true
}
