// Package access says who is calling and what that caller may do.
//
// It is the one home of roles: the transports decide who a caller is (a
// bearer token over HTTP, the single local user over stdio) and put a
// Principal in the request's context; the service layer asks the Principal
// what it may do. It knows nothing of MCP, HTTP or storage.
package access

import (
	"context"
	"fmt"
)

// Role is what a caller may do. The zero Role is invalid: a caller whose
// role was never set may do nothing.
type Role string

const (
	// Admin sees and stops every client's executions and reads the whole
	// audit log, and runs programs.
	Admin Role = "admin"
	// Operator runs programs and sees, reads and stops only its own
	// executions and audit entries.
	Operator Role = "operator"
	// Viewer discovers probes and helpers and validates programs; it runs
	// nothing and sees no execution.
	Viewer Role = "viewer"
)

// Roles lists the valid roles, most powerful first.
var Roles = []Role{Admin, Operator, Viewer}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q: want admin, operator or viewer", s)
}

// CanRun reports whether the role may start and stop programs.
func (r Role) CanRun() bool { return r == Admin || r == Operator }

// SeesAll reports whether the role sees other principals' executions and
// audit entries.
func (r Role) SeesAll() bool { return r == Admin }

// Principal is an authenticated caller: the name that stands for it in
// history and audit, and its role. It never holds a secret.
type Principal struct {
	// Name identifies the caller: a token's name over HTTP, "local" over stdio.
	Name string
	Role Role
}

// Local is the single user of a stdio server: whoever started the process
// already has its privileges, so it is an admin.
var Local = Principal{Name: "local", Role: Admin}

// Owns reports whether p may see and act on something owned by owner: an
// admin anything, an operator what bears its name. A viewer owns nothing,
// and a principal without a name or role owns nothing, not even what has
// no owner.
func (p Principal) Owns(owner string) bool {
	return p.Role.SeesAll() || (p.Role.CanRun() && p.Name != "" && p.Name == owner)
}

// String is the principal's name and role, for logs.
func (p Principal) String() string { return p.Name + " (" + string(p.Role) + ")" }

type ctxKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal ctx carries. ok is false when there is
// none: callers must then refuse, never assume a role.
func FromContext(ctx context.Context) (p Principal, ok bool) {
	p, ok = ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
