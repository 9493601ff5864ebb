// Package host inspects the machine the server traces: kernel release, BTF,
// lockdown, tracefs, the privileges this process holds, and what bpftrace
// and the probe index say works here. It produces one [Report] that the
// system_info tool returns as data and the doctor command prints for a
// person, each finding with the fix for what is missing.
package host
