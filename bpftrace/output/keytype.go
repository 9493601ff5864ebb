package output

import (
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
)

//go:generate go run ./internal/syscallgen -o syscalls_table.go

// Stack is a kstack or ustack key part: its frames, innermost first
// ("vfs_read+5"). Its JSON is the list of frames.
type Stack struct {
	Frames []string
	// text is the key as bpftrace wrote it, which differs between
	// versions (indented by four spaces in 0.17, eight in text mode of
	// later ones, not at all in 0.27's JSON); Text renders it as it was.
	text string
}

// frameIndent is how bpftrace 0.17 indents the frames of a stack.
const frameIndent = "    "

// String renders the stack as bpftrace wrote it, or, for a stack read back
// from JSON, as bpftrace 0.17 does: a newline, then each frame indented by
// four spaces and followed by a newline.
func (s Stack) String() string {
	if s.text != "" {
		return s.text
	}
	var b strings.Builder
	b.WriteByte('\n')
	for _, fr := range s.Frames {
		b.WriteString(frameIndent)
		b.WriteString(fr)
		b.WriteByte('\n')
	}
	return b.String()
}

// Equal reports whether two stacks have the same frames, however bpftrace
// wrote them.
func (s Stack) Equal(o Stack) bool {
	if len(s.Frames) != len(o.Frames) {
		return false
	}
	for i := range s.Frames {
		if s.Frames[i] != o.Frames[i] {
			return false
		}
	}
	return true
}

// MarshalJSON writes the frames.
func (s Stack) MarshalJSON() ([]byte, error) {
	if s.Frames == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(s.Frames)
}

// parseStack reads a stack key: a newline, then one frame a line, each
// indented or not. bpftrace 0.23 writes the newlines of its JSON keys as
// the two characters \n. It reports false for anything else.
func parseStack(s string) (Stack, bool) {
	sep := "\n"
	if !strings.HasPrefix(s, sep) {
		sep = `\n`
		if !strings.HasPrefix(s, sep) || strings.Contains(s, "\n") {
			return Stack{}, false
		}
	}
	st := Stack{Frames: []string{}, text: s}
	for _, line := range strings.Split(s, sep) {
		if fr := strings.TrimSpace(line); fr != "" {
			st.Frames = append(st.Frames, fr)
		}
	}
	return st, true
}

// Syscall is a syscall number in a key with its name on the traced host's
// architecture. Its JSON is the name; text mode prints the number.
type Syscall struct {
	Nr   int64
	Name string
}

// MarshalJSON writes the name.
func (s Syscall) MarshalJSON() ([]byte, error) { return json.Marshal(s.Name) }

// String is the number, as text mode prints it.
func (s Syscall) String() string { return strconv.FormatInt(s.Nr, 10) }

// SyscallName returns the name of syscall nr on an architecture as Go names
// it ("amd64", "arm64"), and false when the number or the architecture is
// unknown.
func SyscallName(goarch string, nr int64) (string, bool) {
	var table []string
	switch goarch {
	case "amd64":
		table = syscallsAMD64[:]
	case "arm64":
		table = syscallsARM64[:]
	}
	if nr < 0 || nr >= int64(len(table)) || table[nr] == "" {
		return "", false
	}
	return table[nr], true
}

func stringParts(parts []string) []any {
	key := make([]any, len(parts))
	for i, p := range parts {
		key[i] = p
	}
	return key
}

// typeKeys turns the string key parts of the entries into what they hold,
// as the kinds say (one per part; nil or too short: unknown), on this host.
func typeKeys(entries []Entry, kinds []KeyKind) {
	for _, e := range entries {
		for i, p := range e.Key {
			s, ok := p.(string)
			if !ok {
				continue
			}
			kind := KeyAny
			if i < len(kinds) {
				kind = kinds[i]
			}
			e.Key[i] = typeKey(s, kind, runtime.GOARCH)
		}
	}
}

// typeKey types one key part. Every result renders as s again in text mode.
func typeKey(s string, kind KeyKind, goarch string) any {
	switch kind {
	case KeyString:
		return s
	case KeySyscall:
		n, ok := parseInteger(s)
		if nr, isInt := n.(int64); ok && isInt {
			if name, known := SyscallName(goarch, nr); known {
				return Syscall{Nr: nr, Name: name}
			}
		}
		if ok {
			return n
		}
		return s
	}
	if n, ok := parseInteger(s); ok {
		return n
	}
	if kind != KeyInt {
		if st, ok := parseStack(s); ok {
			return st
		}
	}
	return s
}

// parseInteger reads an integer as bpftrace prints one: no sign but a
// minus, no leading zero, within 64 bits. It returns an int64, or a uint64
// above math.MaxInt64, so that formatting it gives s again.
func parseInteger(s string) (any, bool) {
	if !isInteger(s) || s == "-0" || len(strings.TrimPrefix(s, "-")) > 1 && strings.TrimPrefix(s, "-")[0] == '0' {
		return nil, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, true
	}
	return nil, false
}

// keyPartText renders a key part as text mode prints it.
func keyPartText(p any) string {
	switch p := p.(type) {
	case string:
		return p
	case int64:
		return strconv.FormatInt(p, 10)
	case uint64:
		return strconv.FormatUint(p, 10)
	case Stack:
		return p.String()
	case Syscall:
		return p.String()
	case []any: // frames read back from JSON by another decoder
		st := Stack{Frames: make([]string, 0, len(p))}
		for _, fr := range p {
			s, _ := fr.(string)
			st.Frames = append(st.Frames, s)
		}
		return st.String()
	}
	return valueText(p)
}
