package catalog

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// Field is one field of a tracepoint's record, as its tracefs format file
// declares it. Decl is exactly what `bpftrace -lv` prints for the field.
type Field struct {
	Decl   string `json:"decl"` // "const char * filename"
	Type   string `json:"type"` // "const char *"
	Name   string `json:"name"` // "filename"
	Offset int    `json:"offset"`
	Size   int    `json:"size"`
	Signed bool   `json:"signed"`
}

// parseFormat parses an events/<category>/<event>/format file. As bpftrace
// does, the fields before the first empty line are the common_* header and
// the fields after it are the event's own.
func parseFormat(data []byte) (common, fields []Field) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	inHeader := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			inHeader = false
			continue
		}
		f, ok := parseFieldLine(line)
		if !ok {
			continue
		}
		if inHeader {
			common = append(common, f)
		} else {
			fields = append(fields, f)
		}
	}
	return common, fields
}

// parseFieldLine parses "\tfield:<decl>;\toffset:N;\tsize:N;\tsigned:N;".
func parseFieldLine(line string) (Field, bool) {
	rest, ok := strings.CutPrefix(line, "\tfield:")
	if !ok {
		return Field{}, false
	}
	decl, attrs, _ := strings.Cut(rest, ";")
	f := Field{Decl: decl}
	f.Type, f.Name = splitDecl(decl)
	for _, a := range strings.Split(attrs, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(a), ":")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch k {
		case "offset":
			f.Offset = n
		case "size":
			f.Size = n
		case "signed":
			f.Signed = n != 0
		}
	}
	return f, true
}

// splitDecl splits a C declaration into its type and name:
// "char comm[16]" gives ("char[16]", "comm") and "__data_loc char[] filename"
// gives ("__data_loc char[]", "filename").
func splitDecl(decl string) (typ, name string) {
	d := strings.TrimSpace(decl)
	array := ""
	if strings.HasSuffix(d, "]") {
		if i := strings.LastIndexByte(d, '['); i > 0 {
			array, d = d[i:], strings.TrimSpace(d[:i])
		}
	}
	end := len(d)
	start := end
	for start > 0 && isIdentByte(d[start-1]) {
		start--
	}
	if start == end || start == 0 {
		// No separate type: keep the whole declaration as the name.
		return strings.TrimSpace(d[:start]) + array, d[start:]
	}
	return strings.TrimSpace(d[:start]) + array, d[start:end]
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
