package catalog

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFormat(t *testing.T) {
	for _, tt := range []struct {
		file       string
		wantCommon int
		want       []Field
	}{
		{
			file:       "testdata/tracefs/events/syscalls/sys_enter_openat/format",
			wantCommon: 4,
			want: []Field{
				{Decl: "int __syscall_nr", Type: "int", Name: "__syscall_nr", Offset: 8, Size: 4, Signed: true},
				{Decl: "int dfd", Type: "int", Name: "dfd", Offset: 16, Size: 8},
				{Decl: "const char * filename", Type: "const char *", Name: "filename", Offset: 24, Size: 8},
				{Decl: "int flags", Type: "int", Name: "flags", Offset: 32, Size: 8},
				{Decl: "umode_t mode", Type: "umode_t", Name: "mode", Offset: 40, Size: 8},
			},
		},
		{
			file:       "testdata/tracefs/events/sched/sched_process_exec/format",
			wantCommon: 4,
			want: []Field{
				{Decl: "__data_loc char[] filename", Type: "__data_loc char[]", Name: "filename", Offset: 8, Size: 4},
				{Decl: "pid_t pid", Type: "pid_t", Name: "pid", Offset: 12, Size: 4, Signed: true},
				{Decl: "pid_t old_pid", Type: "pid_t", Name: "old_pid", Offset: 16, Size: 4, Signed: true},
			},
		},
		{
			file:       "testdata/tracefs/events/task/task_rename/format",
			wantCommon: 4,
			want: []Field{
				{Decl: "pid_t pid", Type: "pid_t", Name: "pid", Offset: 8, Size: 4, Signed: true},
				{Decl: "char oldcomm[16]", Type: "char[16]", Name: "oldcomm", Offset: 12, Size: 16},
				{Decl: "char newcomm[16]", Type: "char[16]", Name: "newcomm", Offset: 28, Size: 16},
				{Decl: "short oom_score_adj", Type: "short", Name: "oom_score_adj", Offset: 44, Size: 2, Signed: true},
			},
		},
	} {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			common, fields := parseFormat(data)
			if len(common) != tt.wantCommon {
				t.Errorf("parseFormat: %d common fields, want %d", len(common), tt.wantCommon)
			}
			for _, c := range common {
				if !strings.HasPrefix(c.Name, "common_") {
					t.Errorf("common field %q lacks the common_ prefix", c.Name)
				}
			}
			if diff := cmp.Diff(tt.want, fields); diff != "" {
				t.Errorf("parseFormat fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitDecl(t *testing.T) {
	for _, tt := range []struct {
		decl, typ, name string
	}{
		{"int dfd", "int", "dfd"},
		{"const char * filename", "const char *", "filename"},
		{"const char *const * argv", "const char *const *", "argv"},
		{"char comm[16]", "char[16]", "comm"},
		{"__data_loc char[] name", "__data_loc char[]", "name"},
		{"unsigned long  ip", "unsigned long", "ip"},
		{"u8 saddr[4]", "u8[4]", "saddr"},
		{"orphan", "", "orphan"},
		{"", "", ""},
	} {
		t.Run(tt.decl, func(t *testing.T) {
			typ, name := splitDecl(tt.decl)
			if typ != tt.typ || name != tt.name {
				t.Errorf("splitDecl(%q) = (%q, %q), want (%q, %q)", tt.decl, typ, name, tt.typ, tt.name)
			}
		})
	}
}

// FuzzFormat checks that any format file parses without panicking and that
// every field's Decl is one line without ';' whose name it contains.
func FuzzFormat(f *testing.F) {
	for _, p := range []string{
		"testdata/tracefs/events/syscalls/sys_enter_openat/format",
		"testdata/tracefs/events/sched/sched_switch/format",
	} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("\tfield:;\n\n\tfield:x[;"))
	f.Fuzz(func(t *testing.T, data []byte) {
		common, fields := parseFormat(data)
		for _, fl := range append(common, fields...) {
			if strings.ContainsAny(fl.Decl, ";\n") {
				t.Fatalf("Decl %q holds ';' or a newline", fl.Decl)
			}
			if !strings.Contains(fl.Decl, fl.Name) {
				t.Fatalf("Decl %q does not contain Name %q", fl.Decl, fl.Name)
			}
		}
	})
}
