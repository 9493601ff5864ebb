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
	} `toml:"limits"`
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
	} `toml:"preprocessor"`
	Scope struct {
		Require *bool    `toml:"require"`
		Comms   []string `toml:"comms"`
		Cgroups []string `toml:"cgroups"`
	} `toml:"scope"`
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
	setInt := func(flag string, dst *int, v *int) {
		if v != nil && !set[flag] {
			*dst = *v
		}
	}
	setInt64 := func(flag string, dst *int64, v *int64) {
		if v != nil && !set[flag] {
			*dst = *v
		}
	}
	setSeconds := func(flag string, dst *time.Duration, v *int) {
		if v != nil && !set[flag] {
			*dst = time.Duration(*v) * time.Second
		}
	}
	if fc.ReadOnly != nil && !set["read-only"] {
		c.readOnly = *fc.ReadOnly
	}
	setInt("max-concurrent", &c.limits.MaxConcurrent, fc.Limits.MaxConcurrent)
	setSeconds("default-timeout", &c.limits.DefaultTimeout, fc.Limits.DefaultTimeoutSeconds)
	setSeconds("max-timeout", &c.limits.MaxTimeout, fc.Limits.MaxTimeoutSeconds)
	setInt64("max-output-bytes", &c.limits.MaxOutputBytes, fc.Limits.MaxOutputBytes)
	setInt("max-program-bytes", &c.limits.MaxProgramBytes, fc.Limits.MaxProgramBytes)
	setInt("retain-executions", &c.retain.MaxExecutions, fc.Retention.Executions)
	setInt64("retain-bytes", &c.retain.MaxOutputBytes, fc.Retention.OutputBytes)

	p := &c.policy
	if fc.Probes.Providers != nil {
		p.Providers = fc.Probes.Providers
	}
	if fc.Probes.Allow != nil {
		p.AllowProbes = fc.Probes.Allow
	}
	if fc.Probes.Deny != nil {
		p.DenyProbes = fc.Probes.Deny
	}
	if fc.Probes.MaxAttachPoints != nil {
		p.MaxAttachPoints = *fc.Probes.MaxAttachPoints
	}
	if fc.Builtins.Deny != nil {
		p.DenyCalls = fc.Builtins.Deny
	}
	if fc.Cat.Paths != nil {
		p.CatPaths = fc.Cat.Paths
	}
	if fc.Preprocessor.Include != nil {
		p.AllowIncludes = *fc.Preprocessor.Include
	}
	if fc.Scope.Require != nil {
		p.RequireScope = *fc.Scope.Require
	}
	if fc.Scope.Comms != nil {
		p.ScopeComms = fc.Scope.Comms
	}
	if fc.Scope.Cgroups != nil {
		p.ScopeCgroups = fc.Scope.Cgroups
	}
	return validatePolicy(p)
}

// validatePolicy refuses settings that cannot be what the administrator
// meant.
func validatePolicy(p *policy.Policy) error {
	if p.MaxAttachPoints < 1 {
		return fmt.Errorf("configuration: probes.max_attach_points must be at least 1")
	}
	for _, c := range p.ScopeComms {
		if err := (policy.Scope{Comm: c}).Validate(); err != nil {
			return fmt.Errorf("configuration: scope.comms: %w", err)
		}
	}
	return nil
}
