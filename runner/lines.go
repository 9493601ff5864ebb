package runner

import (
	"strconv"
	"strings"
	"unicode/utf8"
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
// valid UTF-8, no control characters but tab (a traced string can carry
// escape sequences or other bytes meant to confuse a terminal or a model),
// and at most max bytes.
func clean(line string, max int) string {
	dirty := false
	for i := 0; i < len(line); i++ {
		if c := line[i]; (c < 0x20 && c != '\t') || c == 0x7f || c >= 0x80 {
			dirty = true
			break
		}
	}
	if dirty {
		var b strings.Builder
		b.Grow(len(line))
		for i := 0; i < len(line); {
			r, size := utf8.DecodeRuneInString(line[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				b.WriteRune(utf8.RuneError)
			case (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0):
				// dropped: C0 and C1 controls, DEL
			default:
				b.WriteString(line[i : i+size])
			}
			i += size
		}
		line = b.String()
	}
	if len(line) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + " …[" + strconv.Itoa(len(line)-cut) + " bytes cut]"
	}
	return line
}
