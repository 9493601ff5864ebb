package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestFleetFlags: the gateway's flags parse, with the HTTP transport's
// shared with the host server, and without the agents' own (--node).
func TestFleetFlags(t *testing.T) {
	var out bytes.Buffer
	if err := runFleet(context.Background(), []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("bpftrace-mcp fleet -h: %v\n%s", err, out.String())
	}
	for _, want := range []string{"-fleet-secret", "-kubeconfig", "-insecure-agents", "-http", "-tokens", "-tls-cert"} {
		if !strings.Contains(out.String(), want+" ") && !strings.Contains(out.String(), want+"\n") {
			t.Errorf("bpftrace-mcp fleet -h does not list %s:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "-node ") {
		t.Errorf("bpftrace-mcp fleet offers the agents' --node:\n%s", out.String())
	}
}
