package bpftrace

import (
	"bufio"
	"strings"
)

// Info is `bpftrace --info` parsed into "Section/key" → value, for example
// "Kernel features/btf" → "yes" or "Probe types/kfunc" → "no". What differs
// between releases by version number alone is in the version package; Info
// is what this bpftrace found on this kernel.
type Info map[string]string

// Yes reports whether the entry exists and reads "yes".
func (in Info) Yes(key string) bool { return in[key] == "yes" }

// ParseInfo reads the output of `bpftrace --info`. Section headers are the
// unindented lines; entries are indented "key: value" lines. From 0.27 some
// lines hold two entries side by side, padded apart with spaces:
//
//	Instruction limit: 1000000       btf: yes
//
// A run of two or more spaces followed by "key:" starts another entry; a
// value with single spaces in it ("Linux 6.1.0 #1 SMP") stays whole.
func ParseInfo(s string) Info {
	in := Info{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			section = strings.TrimSuffix(strings.TrimSpace(line), ":")
			continue
		}
		for _, entry := range infoEntries(strings.TrimSpace(line)) {
			k, v, _ := splitEntry(entry)
			in[section+"/"+strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return in
}

// infoEntries splits an entry line into its "key: value" entries.
func infoEntries(line string) []string {
	var out []string
	for line != "" {
		if _, _, ok := splitEntry(line); !ok {
			break
		}
		end := nextColumn(line)
		out = append(out, line[:end])
		line = strings.TrimLeft(line[end:], " \t")
	}
	return out
}

// splitEntry splits "key: value" at the first colon followed by a blank,
// or a colon that ends the text: keys hold colons of their own
// ("iter:task: no", "uprobe refcount (depends on Build:bcc ...): yes").
func splitEntry(s string) (key, value string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
			return s[:i], s[i+1:], i > 0
		}
	}
	return "", "", false
}

// nextColumn returns where the entry at the start of line ends: at a run of
// two or more blanks after its colon that is followed by another "key:".
func nextColumn(line string) int {
	key, _, _ := splitEntry(line)
	for i := len(key) + 1; i < len(line); i++ {
		if line[i] != ' ' && line[i] != '\t' {
			continue
		}
		j := i
		for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
			j++
		}
		if j-i >= 2 && j < len(line) && startsEntry(line[j:]) {
			return i
		}
		i = j
	}
	return len(line)
}

// startsEntry reports whether s begins with a key and its colon: a word
// made of letters, digits, blanks and the punctuation keys use, with no run
// of two blanks in it (that would be a column gap).
func startsEntry(s string) bool {
	k, _, ok := splitEntry(s)
	if !ok || strings.Contains(k, "  ") {
		return false
	}
	for _, c := range k {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(" -_():.", c):
		default:
			return false
		}
	}
	return true
}
