package lang

import "strings"

// AttachPoint is one attach point of a probe: "kprobe:do_nanosleep",
// "uprobe:/bin/bash:readline", "t:syscalls:sys_enter_*", "BEGIN".
type AttachPoint struct {
	Extent
	// Raw is the attach point as written, without the white space, comments
	// and commas around it.
	Raw string
	// Provider is the probe type as written: "t", "tracepoint", "BEGIN".
	Provider string
	// Canonical is the probe type's full name as bpftrace 0.17 knows it
	// ("tracepoint" for "t"; "BEGIN" and "END" for those and for the
	// lowercase begin and end of newer versions), or "" when the provider is
	// unknown. See [CanonicalProvider].
	Canonical string
	// Parts are the colon-separated parts after the provider, with quotes
	// removed: ["/bin/bash", "readline"] for uprobe:/bin/bash:readline.
	Parts []string
	// PartExtents are the source ranges of Parts, quotes included.
	PartExtents []Extent
	// Wildcard is true when the attach point contains an unquoted *, ?,
	// [...] or {a,b} pattern and may therefore match several probes.
	Wildcard bool
}

// providers maps every provider name and alias to its canonical name, as in
// bpftrace 0.17 (see the alias table of its man page). Names added later map
// to the 0.17 probe type they alias where there is one (fentry is kfunc),
// else to themselves.
var providers = map[string]string{
	"BEGIN": "BEGIN", "END": "END",
	"kprobe": "kprobe", "k": "kprobe",
	"kretprobe": "kretprobe", "kr": "kretprobe",
	"uprobe": "uprobe", "u": "uprobe",
	"uretprobe": "uretprobe", "ur": "uretprobe",
	"usdt": "usdt", "U": "usdt",
	"tracepoint": "tracepoint", "t": "tracepoint",
	"profile": "profile", "p": "profile",
	"interval": "interval", "i": "interval",
	"software": "software", "s": "software",
	"hardware": "hardware", "h": "hardware",
	"watchpoint": "watchpoint", "w": "watchpoint",
	"asyncwatchpoint": "asyncwatchpoint", "aw": "asyncwatchpoint",
	"kfunc": "kfunc", "f": "kfunc",
	"kretfunc": "kretfunc", "fr": "kretfunc",
	"iter": "iter", "it": "iter",

	// Later versions.
	"begin": "BEGIN", "end": "END", // 0.24
	"fentry": "kfunc", "fexit": "kretfunc", // 0.20
	"rawtracepoint": "rawtracepoint", "rt": "rawtracepoint", // 0.18
	"self": "self", // 0.22: self:signal:SIGUSR1
}

// CanonicalProvider returns the canonical name of a probe provider or
// alias ("t" gives "tracepoint", "fentry" gives "kfunc"), and "" for an
// unknown one. Full names also match case-insensitively, as in bpftrace
// 0.24; the one- and two-letter aliases do not, since "u" and "U" differ.
func CanonicalProvider(name string) string {
	if c, ok := providers[name]; ok {
		return c
	}
	if lower := strings.ToLower(name); len(lower) > 2 {
		return providers[lower]
	}
	return ""
}

// isAttachByte reports whether c may appear unquoted in an attach point.
// Besides names and paths this covers offsets (f+0x10), wildcards (* ? [ ]),
// positional parameters ($1) and versioned symbols (memcpy@GLIBC_2.14).
func isAttachByte(c byte) bool {
	if isIdentByte(c) {
		return true
	}
	switch c {
	case ':', '.', '+', '-', '*', '?', '[', ']', '/', '$', '@':
		return true
	}
	return false
}

// scanAttachPoint reads one attach point from the raw text at the current
// position, which must be past any white space and comments. It stops at white space, a
// comma, a comment, a { that opens the probe body, or anything else that
// cannot be part of an attach point. A slash is part of it (it appears in
// paths), so a predicate must be separated from the attach point by white
// space, as bpftrace requires. It returns false if nothing was read.
func (s *scanner) scanAttachPoint() (*AttachPoint, bool) {
	start := s.pos()
	// An attach point starts with a provider name (or a quote or a star in
	// patterns); a / here starts a predicate with the attach point missing.
	if c := s.peek(0); !isLetter(c) && c != '"' && c != '*' {
		return nil, false
	}
loop:
	for !s.eof() {
		c := s.src[s.off]
		switch {
		case c == '"':
			s.scanQuotedPart()
		case c == '/' && (s.peek(1) == '/' || s.peek(1) == '*'):
			break loop
		case c == '{' && s.off > start.Offset && s.alternationLen() > 0:
			s.skip(s.alternationLen())
		case isAttachByte(c):
			s.next()
		default:
			break loop
		}
	}
	if s.off == start.Offset {
		return nil, false
	}
	ap := &AttachPoint{Extent: Extent{From: start, To: s.pos()}, Raw: s.src[start.Offset:s.off]}
	ap.split()
	return ap, true
}

// scanQuotedPart moves past a quoted part of an attach point, such as the
// C++ name in uprobe:/bin/x:"Foo::bar".
func (s *scanner) scanQuotedPart() {
	start := s.pos()
	s.next()
	for !s.eof() && s.src[s.off] != '\n' {
		switch s.src[s.off] {
		case '\\':
			s.next()
			if !s.eof() && s.src[s.off] != '\n' {
				s.next()
			}
			continue
		case '"':
			s.next()
			return
		}
		s.next()
	}
	s.report(start, s.pos(), "unterminated string", `close the quoted part of the attach point with "`)
}

// alternationLen returns the length of a {a,b} alternation starting at the
// current {, or 0 if the brace opens a probe body instead. An alternation
// holds only name characters and at least one comma, which no valid block
// can: a block {a,b} would be a syntax error anyway.
func (s *scanner) alternationLen() int {
	comma := false
	for i := s.off + 1; i < len(s.src); i++ {
		c := s.src[i]
		switch {
		case c == '}':
			if comma && i > s.off+1 {
				return i + 1 - s.off
			}
			return 0
		case c == ',':
			comma = true
		case isIdentByte(c) || c == '.' || c == '*' || c == '?' || c == '-':
		default:
			return 0
		}
	}
	return 0
}

// split fills in Provider, Canonical, Parts, PartExtents and Wildcard from
// Raw. Parts are split at colons outside quotes; an attach point lies on one
// line, so the columns of its parts follow from their offsets.
func (ap *AttachPoint) split() {
	type piece struct {
		text       strings.Builder
		start, end int
	}
	var pieces []*piece
	cur := &piece{}
	inQuote, inBrace := false, false
	for i := 0; i < len(ap.Raw); i++ {
		c := ap.Raw[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(ap.Raw):
			i++
			cur.text.WriteByte(ap.Raw[i])
			continue
		case c == '"':
			inQuote = !inQuote
			continue
		case inQuote:
			cur.text.WriteByte(c)
			continue
		case c == ':':
			cur.end = i
			pieces = append(pieces, cur)
			cur = &piece{start: i + 1}
			continue
		case c == '*' || c == '?' || c == '[':
			ap.Wildcard = true
		case c == '{':
			inBrace = true
		case c == '}' && inBrace:
			inBrace = false
			ap.Wildcard = true
		}
		cur.text.WriteByte(c)
	}
	cur.end = len(ap.Raw)
	pieces = append(pieces, cur)

	ap.Provider = pieces[0].text.String()
	ap.Canonical = CanonicalProvider(ap.Provider)
	for _, p := range pieces[1:] {
		ap.Parts = append(ap.Parts, p.text.String())
		ap.PartExtents = append(ap.PartExtents, Extent{From: ap.shift(p.start), To: ap.shift(p.end)})
	}
}

func (ap *AttachPoint) shift(n int) Pos {
	return Pos{Offset: ap.From.Offset + n, Line: ap.From.Line, Column: ap.From.Column + n}
}

// Target returns the part that names the traced object for providers whose
// first part is a binary or a category: the path of a uprobe, uretprobe or
// usdt, the category of a tracepoint. It returns "" for other providers.
func (ap *AttachPoint) Target() string {
	switch ap.Canonical {
	case "uprobe", "uretprobe", "usdt", "tracepoint", "rawtracepoint":
		if len(ap.Parts) > 1 {
			return ap.Parts[0]
		}
	}
	return ""
}

// Func returns the last part, which for most providers names the traced
// function, tracepoint or event ("readline", "sys_enter_openat",
// "cpu-clock", "do_nanosleep+0x10" with its offset), or "" when there are
// no parts. For interval, profile,
// software, hardware and watchpoint it is a rate, a count or a mode.
func (ap *AttachPoint) Func() string {
	if len(ap.Parts) == 0 {
		return ""
	}
	return ap.Parts[len(ap.Parts)-1]
}
