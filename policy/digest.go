package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Digest identifies the policy's rules: two policies with the same rules
// have the same digest, and a change to any rule changes it. Decisions
// remembered about a program (see package verdict) are keyed by it, so that
// a new policy never reuses a verdict of the old one.
func (p *Policy) Digest() string {
	b, _ := json.Marshal(p) // plain data: it cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
