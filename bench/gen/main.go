// Command gen is the load generator of the benchmarks: it makes N getpid()
// system calls, optionally paced to a rate, then one getppid() that tells
// the traced program it is done.
package main

import (
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 1_000_000, "getpid calls")
	rate := flag.Int("rate", 0, "calls per second (0: as fast as possible)")
	flag.Parse()
	start := time.Now()
	for i := range *n {
		syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		if *rate > 0 && i%1000 == 999 {
			if ahead := time.Duration(i+1)*time.Second/time.Duration(*rate) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
	syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	fmt.Fprintf(os.Stderr, "gen: %d calls in %s\n", *n, time.Since(start))
}
