// Package runner owns the lifecycle of executions: it checks a program with
// bpftrace, starts it under the limits in force, streams its output into the
// store as it arrives, stops it gracefully (SIGINT, wait for END and the
// maps, then SIGKILL), and answers for its output and status while it runs
// and after it ended.
//
// An execution's state lives in the store, so that results and history
// survive a restart; the Manager keeps only what belongs to the processes it
// started: their pipes, timers and waiters.
package runner
