// Command bpftrace-mcp is a Model Context Protocol server that lets AI
// assistants trace the Linux kernel and user programs with bpftrace.
//
// It serves MCP over stdio; see `bpftrace-mcp -h` for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "bpftrace-mcp:", err)
		os.Exit(1)
	}
}
