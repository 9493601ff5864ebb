// Package bench holds the benchmarks that `make bench` runs against the real
// bpftrace and the built server. Each prints its figures as ratios against a
// baseline measured in the same run (raw bpftrace, for example), because the
// machines this runs on are shared and noisy. TestBenchEconomy measures what
// an assistant pays, in bytes, for ten scripted investigations against the
// text bpftrace prints for the same programs.
package bench
