package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
)

// fileConfig is the TOML configuration file (--config). Every key is
// optional; an absent key keeps its default, and a flag given on the command
// line wins over the file. Unknown keys are an error, so that a typo does
// not silently leave a rule at its default. deploy/bpftrace-mcp.toml is a
// commented sample.
type fileConfig struct {
	ReadOnly *bool `toml:"read_only"`
	Limits   struct {
		MaxConcurrent         *int   `toml:"max_concurrent"`
		DefaultTimeoutSeconds *int   `toml:"default_timeout_seconds"`
		MaxTimeoutSeconds     *int   `toml:"max_timeout_seconds"`
		MaxOutputBytes        *int64 `toml:"max_output_bytes"`
		MaxProgramBytes       *int   `toml:"max_program_bytes"`
		ResponseBytes         *int   `toml:"response_bytes"`
		MaxResponseBytes      *int   `toml:"max_response_bytes"`
		ExecWaitSeconds       *int   `toml:"exec_wait_seconds"`
	} `toml:"limits"`
	Checks struct {
		TimeoutSeconds *int   `toml:"timeout_seconds"`
		MaxMemoryBytes *int64 `toml:"max_memory_bytes"`
		MaxConcurrent  *int   `toml:"max_concurrent"`
	} `toml:"checks"`
	Retention struct {
		Executions  *int   `toml:"executions"`
		OutputBytes *int64 `toml:"output_bytes"`
	} `toml:"retention"`
	Probes struct {
		Providers       []string `toml:"providers"`
		Allow           []string `toml:"allow"`
		Deny            []string `toml:"deny"`
		MaxAttachPoints *int     `toml:"max_attach_points"`
	} `toml:"probes"`
	Builtins struct {
		Deny []string `toml:"deny"`
	} `toml:"builtins"`
	Cat struct {
		Paths []string `toml:"paths"`
	} `toml:"cat"`
	Preprocessor struct {
		Include *bool `toml:"include"`
		Macros  *bool `toml:"macros"`
	} `toml:"preprocessor"`
	Scope struct {
		Require *bool    `toml:"require"`
		Comms   []string `toml:"comms"`
		Cgroups []string `toml:"cgroups"`
	} `toml:"scope"`
	Sensitive struct {
		Approval       *string  `toml:"approval"`
		Binaries       []string `toml:"binaries"`
		Addresses      *bool    `toml:"addresses"`
		SyscallBuffers *bool    `toml:"syscall_buffers"`
	} `toml:"sensitive"`
}

// loadConfig reads the configuration file into c. set holds the flags
// given on the command line, which keep their values.
func loadConfig(path string, c *config, set map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read configuration: %w", err)
	}
	var fc fileConfig
	dec := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			return fmt.Errorf("configuration %s: unknown keys:\n%s", path, strict.String())
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return fmt.Errorf("configuration %s:%d:%d: %s", path, row, col, de.Error())
		}
		return fmt.Errorf("configuration %s: %w", path, err)
	}
	// A value from the file applies unless the flag was given.
	fromFile := func(flag string) bool { return !set[flag] }
	if fromFile("read-only") {
		setPtr(&c.readOnly, fc.ReadOnly)
	}
	if fromFile("max-concurrent") {
		setPtr(&c.limits.MaxConcurrent, fc.Limits.MaxConcurrent)
	}
	if fromFile("default-timeout") {
		setSeconds(&c.limits.DefaultTimeout, fc.Limits.DefaultTimeoutSeconds)
	}
	if fromFile("max-timeout") {
		setSeconds(&c.limits.MaxTimeout, fc.Limits.MaxTimeoutSeconds)
	}
	if fromFile("max-output-bytes") {
		setPtr(&c.limits.MaxOutputBytes, fc.Limits.MaxOutputBytes)
	}
	if fromFile("max-program-bytes") {
		setPtr(&c.limits.MaxProgramBytes, fc.Limits.MaxProgramBytes)
	}
	if fromFile("response-bytes") {
		setPtr(&c.answers.Default, fc.Limits.ResponseBytes)
	}
	if fromFile("max-response-bytes") {
		setPtr(&c.answers.Ceiling, fc.Limits.MaxResponseBytes)
	}
	if fromFile("exec-wait") {
		setSeconds(&c.execWait, fc.Limits.ExecWaitSeconds)
	}
	if fromFile("retain-executions") {
		setPtr(&c.retain.MaxExecutions, fc.Retention.Executions)
	}
	if fromFile("retain-bytes") {
		setPtr(&c.retain.MaxOutputBytes, fc.Retention.OutputBytes)
	}

	// Neither have the check limits.
	setSeconds(&c.checks.Timeout, fc.Checks.TimeoutSeconds)
	setPtr(&c.checks.MaxMemory, fc.Checks.MaxMemoryBytes)
	setPtr(&c.checks.MaxConcurrent, fc.Checks.MaxConcurrent)
	if c.checks.Timeout < time.Second || c.checks.MaxMemory < 64<<20 || c.checks.MaxConcurrent < 1 {
		return fmt.Errorf("configuration %s: [checks] wants timeout_seconds >= 1, max_memory_bytes >= 67108864 and max_concurrent >= 1", path)
	}

	// The policy has no flags: the file is its only source.
	p := &c.policy
	setList(&p.Providers, fc.Probes.Providers)
	setList(&p.AllowProbes, fc.Probes.Allow)
	setList(&p.DenyProbes, fc.Probes.Deny)
	setPtr(&p.MaxAttachPoints, fc.Probes.MaxAttachPoints)
	setList(&p.DenyCalls, fc.Builtins.Deny)
	setList(&p.CatPaths, fc.Cat.Paths)
	setPtr(&p.AllowIncludes, fc.Preprocessor.Include)
	setPtr(&p.AllowMacros, fc.Preprocessor.Macros)
	setPtr(&p.RequireScope, fc.Scope.Require)
	setList(&p.ScopeComms, fc.Scope.Comms)
	setList(&p.ScopeCgroups, fc.Scope.Cgroups)
	if a := fc.Sensitive.Approval; a != nil {
		p.Sensitive.Approval = policy.Approval(*a)
	}
	setList(&p.Sensitive.Binaries, fc.Sensitive.Binaries)
	setPtr(&p.Sensitive.Addresses, fc.Sensitive.Addresses)
	setPtr(&p.Sensitive.SyscallBuffers, fc.Sensitive.SyscallBuffers)
	return validatePolicy(p)
}

// setPtr sets *dst to *v when the file has the key (v is not nil).
func setPtr[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// setList sets *dst to v when the file has the key: an empty list in the
// file is a value ("deny = []" allows every builtin), an absent key is not.
func setList(dst *[]string, v []string) {
	if v != nil {
		*dst = v
	}
}

func setSeconds(dst *time.Duration, v *int) {
	if v != nil {
		*dst = time.Duration(*v) * time.Second
	}
}

// validatePolicy refuses settings that cannot be what the administrator
// meant.
func validatePolicy(p *policy.Policy) error {
	if p.MaxAttachPoints < 1 {
		return fmt.Errorf("configuration: probes.max_attach_points must be at least 1")
	}
	switch p.Sensitive.Approval {
	case "", policy.ApprovalRefuse, policy.ApprovalElicit:
	default:
		return fmt.Errorf("configuration: sensitive.approval must be %q or %q, not %q", policy.ApprovalRefuse, policy.ApprovalElicit, p.Sensitive.Approval)
	}
	for _, c := range p.ScopeComms {
		if err := (policy.Scope{Comm: c}).Validate(); err != nil {
			return fmt.Errorf("configuration: scope.comms: %w", err)
		}
	}
	return nil
}
