package runner

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
