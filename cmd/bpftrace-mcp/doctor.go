package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/host"
)

// errDoctor is returned when a check that the server cannot work without
// failed; the report already said which and how to fix it.
var errDoctor = errors.New("this host is not ready: see the fixes above")

// doctor prints what this host can trace and how to fix what is missing.
func doctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bpftrace-mcp doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("bpftrace", "", "path of the bpftrace binary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	bin, err := bpftrace.Find(ctx, *path)
	r := host.Inspect(ctx, bin, err, catalog.New(nil))
	fmt.Fprintf(stdout, "bpftrace-mcp %s doctor: kernel %s (%s)\n\n", version(), r.Kernel.Release, r.Kernel.Arch)
	fmt.Fprint(stdout, r.Text())
	for _, f := range r.Findings {
		// Probe types that do not work here are facts about the host, not
		// faults: the server works with the others.
		if !f.OK && !strings.HasPrefix(f.Item, "probe type ") {
			return errDoctor
		}
	}
	return nil
}
