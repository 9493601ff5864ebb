package output

import (
	"testing"
)

// TestLive runs some of the golden programs with the bpftrace under test in
// both modes and checks that the decoded JSON still gives the text output,
// so that a change in bpftrace's formats shows up here.
func TestLive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bpftrace twice per program (about 0.5 s each); skipped with -short")
	}
	b := requireBpftrace(t)
	for _, p := range programs {
		if !p.live {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			js, want := record(t, b, p)
			got, events := decodeStream(t, p.decoder(b.Version), js)
			checkKnown(t, events)
			if diff := textDiff(b.Version, string(want), got); diff != "" {
				t.Errorf("text mismatch (-want +got):\n%s\njson:\n%s", diff, js)
			}
		})
	}
}
