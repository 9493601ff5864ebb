package docs

import (
	"fmt"
	"strings"
	"testing"
)

// TestHelpersAgainstBpftrace017 checks the version tags against the
// installed bpftrace when it is 0.17: every helper tagged 0.17 must be a name
// 0.17 knows, and every later helper must be unknown to it. It looks only at
// whether the name is recognised, not at whether the call is valid, because
// bpftrace reports an unknown name before it checks anything else.
func TestHelpersAgainstBpftrace017(t *testing.T) {
	bpftrace, version := requireBpftrace(t)
	if version != 17 {
		t.Skipf("needs bpftrace 0.17: the installed bpftrace is 0.%d", version)
	}
	// Spellings of the placeholder names in a program.
	spelling := map[string]string{"$N": "$1", "argN": "arg0", "sargN": "sarg0"}
	for _, h := range Helpers() {
		t.Run(h.Kind+"/"+h.Name, func(t *testing.T) {
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
			stderr, _ := dryRun(t, bpftrace, version, program)
			unknown := strings.Contains(stderr, "Unknown function") || strings.Contains(stderr, "Unknown identifier")
			switch {
			case h.Since == "0.17" && unknown:
				t.Errorf("tagged 0.17 but bpftrace 0.17 does not know it:\n%s", stderr)
			case h.Since != "0.17" && !unknown:
				t.Errorf("tagged %s but bpftrace 0.17 already knows it:\n%s", h.Since, stderr)
			}
		})
	}
}
