package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretText is what a file the discovery tools must not echo holds.
const secretText = "root:SECRET-7f3a9c-SHADOW-LINE:19000:0:99999:7:::\n"

// TestDiscoveryNeverEchoesAFile asks every discovery path about files that
// are not ELF binaries (a text file, one that starts like ELF, an empty
// one) and checks that no answer holds a byte of them beyond their name.
func TestDiscoveryNeverEchoesAFile(t *testing.T) {
	c := newFakeHost(t)
	dir := t.TempDir()
	files := map[string]string{
		"shadow":    secretText,
		"fake-elf":  "\x7fELF" + secretText,
		"short-elf": "\x7fEL",
		"empty":     "",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for name := range files {
		p := filepath.Join(dir, name)
		queries := []struct {
			what string
			run  func() (any, error)
		}{
			{"list uprobe", func() (any, error) { return c.List(ctx, "uprobe:"+p+":*") }},
			{"list uretprobe", func() (any, error) { return c.List(ctx, "uretprobe:"+p) }},
			{"list usdt", func() (any, error) { return c.List(ctx, "usdt:"+p+":*") }},
			{"expand uprobe", func() (any, error) { return c.Expand(ctx, "uprobe:"+p+":main") }},
			{"expand usdt", func() (any, error) { return c.Expand(ctx, "usdt:"+p+":a:b") }},
			{"describe", func() (any, error) { return c.Describe(ctx, "uprobe:"+p+":main") }},
			{"glob", func() (any, error) { return c.List(ctx, "uprobe:"+dir+"/*:*") }},
			{"nearest", func() (any, error) { return c.Nearest(ctx, "uprobe:"+p+":mian", 3), nil }},
		}
		for _, q := range queries {
			got, err := q.run()
			text := strings.ReplaceAll(strings.ReplaceAll(errText(err)+" "+anyText(got), p, ""), dir, "")
			// debug/elf quotes the first bytes as decimal numbers: "root" is [114 111 111 116].
			for _, leak := range []string{"SECRET", "root:", "7f3a9c", "114 111 111 116", "ELFCLASS64+"} {
				if strings.Contains(text, leak) {
					t.Errorf("%s of %s leaks %q: %s", q.what, name, leak, text)
				}
			}
			if err != nil && name != "empty" && strings.Contains(q.what, "uprobe") && !errors.Is(err, ErrNotELF) {
				t.Errorf("%s of %s: got %v, want ErrNotELF", q.what, name, err)
			}
			if err != nil && errors.Is(err, ErrNotELF) && !strings.Contains(err.Error(), "not an ELF binary") {
				t.Errorf("%s of %s: %v does not say it is not an ELF binary", q.what, name, err)
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func anyText(v any) string {
	switch v := v.(type) {
	case []string:
		return strings.Join(v, "\n")
	case *Probe:
		if v == nil {
			return ""
		}
		return v.Listing() + v.Reason + v.Example
	}
	return ""
}
