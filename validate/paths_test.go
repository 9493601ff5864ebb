package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
)

// TestCanonicalSource: the program that runs names the binaries by the
// canonical paths the policy judged, also behind a target and the
// server's exclusion, and still compiles.
func TestCanonicalSource(t *testing.T) {
	v := newValidator(t)
	libc, err := catalog.New(nil).ResolveTarget("libc")
	if err != nil {
		t.Skipf("no libc here: %v", err)
	}
	real, err := filepath.EvalSymlinks(libc[0])
	if err != nil {
		t.Fatal(err)
	}
	v.o.Exclude = &policy.Exclusion{CgroupID: 4242}
	r, err := v.Full(context.Background(), "uprobe:libc:malloc /arg0 > 64/ { @[comm] = count(); }\ninterval:s:1 { exit(); }\n", &policy.Scope{PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Valid() {
		t.Fatalf("refused: %v", r.Errors())
	}
	want := "uprobe:" + real + ":malloc /((arg0 > 64) && (pid == 1)) && (cgroup != 4242)/"
	if !strings.Contains(r.Source, want) {
		t.Errorf("source:\n%s\nwant it to contain %s", r.Source, want)
	}
	if err := r.VerifyBinaries(); err != nil {
		t.Errorf("VerifyBinaries: %v", err)
	}
}

// TestSymlinkedBinaryIsJudgedAndRewritten: a symlink with an innocent name
// to a library of the sensitive class is refused; under approval it needs
// a person, and once approved it runs on the real file.
func TestSymlinkedBinaryIsJudgedAndRewritten(t *testing.T) {
	v := newValidator(t)
	libc, err := catalog.New(nil).ResolveTarget("libc")
	if err != nil {
		t.Skipf("no libc here: %v", err)
	}
	real, _ := filepath.EvalSymlinks(libc[0])
	link := filepath.Join(t.TempDir(), "innocent")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	p.Sensitive.Binaries = []string{"*/libc.so*"} // stands for libcrypt here
	v.o.Policy = &p
	src := "uretprobe:" + link + ":malloc { @ = count(); }"
	r := v.Static(context.Background(), src, nil)
	if errs := r.Errors(); len(errs) != 1 || errs[0].Rule != policy.RuleSensitiveBinary || errs[0].Line != 1 || errs[0].Column != 1 {
		t.Fatalf("errors %v, want one %s at 1:1", errs, policy.RuleSensitiveBinary)
	}
	if _, ok := r.NeedsApproval(); ok {
		t.Error("approval offered under approval = refuse")
	}
	p.Sensitive.Approval = policy.ApprovalElicit
	r = v.Static(context.Background(), src, nil)
	summary, ok := r.NeedsApproval()
	if !ok || len(summary) != 1 || !strings.Contains(summary[0], real) {
		t.Fatalf("NeedsApproval = %q, %v", summary, ok)
	}
	r.Approve("test user")
	if !r.Valid() || !strings.Contains(r.Source, "uretprobe:"+real+":malloc") {
		t.Errorf("approved: valid %v, source %q", r.Valid(), r.Source)
	}
}

// TestValidationNeverQuotesAFile: a program whose uprobe, uretprobe or usdt
// names a file that is not ELF is refused with "not an ELF binary", and no
// diagnostic holds a byte of the file.
func TestValidationNeverQuotesAFile(t *testing.T) {
	v := newValidator(t)
	secret := "root:SECRET-VALIDATE-91c2:19000:0:99999:7:::"
	path := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		"uprobe:" + path + ":main { @ = count(); }",
		"uretprobe:" + path + ":* { @ = count(); }",
		"usdt:" + path + ":p:n { @ = count(); }",
		"u:/proc/self/root" + path + ":main { @ = count(); }",
	} {
		r, err := v.Full(context.Background(), src, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Valid() {
			t.Errorf("%s: valid", src)
		}
		text := ""
		for _, d := range r.Diagnostics {
			text += d.String() + "\n"
		}
		for _, leak := range []string{"SECRET", "root:", "91c2", "114 111 111 116"} {
			if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(text, "/proc/self/root"+path, ""), path, ""), leak) {
				t.Errorf("%s: diagnostics leak %q:\n%s", src, leak, text)
			}
		}
		if !strings.Contains(text, "not an ELF binary") {
			t.Errorf("%s: diagnostics do not say it is not an ELF binary:\n%s", src, text)
		}
	}
}
