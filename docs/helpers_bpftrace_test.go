package docs

import (
	"fmt"
	"strings"
	"testing"
)

// TestHelpersAgainstBpftrace checks the version tags against the bpftrace
// under test: every helper tagged as present in its release must be a name
// it knows, and every other helper must be unknown to it. It looks only at
// whether the name is recognised, not at whether the call is valid, because
// bpftrace reports an unknown name before it checks anything else.
func TestHelpersAgainstBpftrace(t *testing.T) {
	b := requireBpftrace(t)
	// Spellings of the placeholder names in a program.
	spelling := map[string]string{"$N": "$1", "argN": "arg0", "sargN": "sarg0"}
	for _, h := range Helpers() {
		t.Run(h.Kind+"/"+h.Name, func(t *testing.T) {
			t.Parallel()
			name := h.Name
			if s, ok := spelling[name]; ok {
				name = s
			}
			var program string
			switch h.Kind {
			case KindVariable:
				program = fmt.Sprintf("tracepoint:syscalls:sys_enter_getpid { @x = %s; }", name)
			default:
				program = fmt.Sprintf("tracepoint:syscalls:sys_enter_getpid { %s(); }", name)
			}
			stderr, _ := dryRun(t, b, program)
			// From 0.25 a removed builtin is named as such ("sarg* is
			// deleted. ... last available in v0.24") rather than unknown.
			unknown := strings.Contains(stderr, "Unknown function") || strings.Contains(stderr, "Unknown identifier") ||
				strings.Contains(stderr, " is deleted.")
			tagged := fmt.Sprintf("tagged [%s, %s)", h.Since, h.Until)
			switch present := b.Version.Within(h.Since, h.Until); {
			case present && unknown:
				t.Errorf("%s but bpftrace %s does not know it:\n%s", tagged, b.Version, stderr)
			case !present && !unknown:
				t.Errorf("%s but bpftrace %s knows it:\n%s", tagged, b.Version, stderr)
			}
		})
	}
}
