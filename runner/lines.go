package runner

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

// splitter turns the text bpftrace prints (pieces that may hold several
// lines, or part of one: printf without a newline) into whole lines.
type splitter struct {
	partial strings.Builder
	maxLine int
	emit    func(line string, final bool)
}

// write feeds text. final marks text that belongs to the exit-time map dump,
// which the output cap treats differently.
func (s *splitter) write(text string, final bool) {
	for text != "" {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			// Keep at most a little more than one line's worth: the rest
			// would be cut by clean anyway.
			if room := s.maxLine + 64 - s.partial.Len(); room > 0 {
				s.partial.WriteString(text[:min(room, len(text))])
			}
			return
		}
		line := text[:i]
		if s.partial.Len() > 0 {
			if room := s.maxLine + 64 - s.partial.Len(); room > 0 {
				s.partial.WriteString(line[:min(room, len(line))])
			}
			line = s.partial.String()
			s.partial.Reset()
		}
		s.emit(clean(line, s.maxLine), final)
		text = text[i+1:]
	}
}

// flush emits a last line that had no newline.
func (s *splitter) flush() {
	if s.partial.Len() > 0 {
		line := s.partial.String()
		s.partial.Reset()
		s.emit(clean(line, s.maxLine), true)
	}
}

// clean makes one output line safe to hand to an assistant and its client:
// every character that could hide or reshape text (control characters but
// tab, bidi and zero-width characters, U+2028, invalid UTF-8: a traced
// string can carry escape sequences or other bytes meant to confuse a
// terminal or a model) is escaped visibly by package untrusted, and the
// line is at most max bytes. The escaped form is what is stored and what
// the output limits count.
func clean(line string, max int) string {
	line = untrusted.Line(line)
	if len(line) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + " …[" + strconv.Itoa(len(line)-cut) + " bytes cut]"
	}
	return line
}
