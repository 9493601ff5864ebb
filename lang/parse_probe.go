package lang

import "strings"

// parseProbe parses attach points, an optional predicate and a body.
func (p *parser) parseProbe() {
	s := p.s
	start := s.pos()
	p.prevEnd = start
	probe := &Probe{Extent: Extent{From: start, To: start}}
	for {
		ap, ok := s.scanAttachPoint()
		if !ok {
			break
		}
		probe.AttachPoints = append(probe.AttachPoints, ap)
		p.prevEnd = ap.To
		if p.trace != nil {
			p.trace(token{kind: tAttachPoint, text: ap.Raw, pos: ap.From, end: ap.To})
		}
		save := s.pos()
		s.skipTrivia()
		if s.peek(0) != ',' {
			s.reset(save)
			break
		}
		s.next()
		p.prevEnd = s.pos()
		s.skipTrivia()
		// A comma before the body or the predicate is accepted, as in
		// bpftrace 0.17.
	}

	if len(probe.AttachPoints) == 0 {
		t := p.cur()
		if !p.is("{") && !p.is("/") {
			p.unexpected("attach point", "a probe starts with an attach point such as tracepoint:syscalls:sys_enter_openat or BEGIN")
			p.advance()
			return
		}
		p.panicking = false
		p.errorAt(t.pos, t.end, "No attach points for probe", "write an attach point such as BEGIN or kprobe:do_nanosleep before the {")
	}
	p.panicking = false
	p.prog.Probes = append(p.prog.Probes, probe)
	defer func() { probe.To = p.prevEnd }()

	if p.is("/") {
		p.advance()
		p.inPred = true
		probe.Predicate = p.parseExpr()
		p.inPred = false
		p.expect("/", "", "a predicate is written /expr/ between the attach points and the {")
	}
	if p.is("{") {
		probe.Body = p.parseBlock()
		return
	}
	t := p.cur()
	if !p.panicking {
		switch {
		case t.kind == tEOF:
			p.errorAt(t.pos, t.end, "unexpected end of file, expected {", "every probe needs a body in braces")
		case probe.Predicate == nil:
			p.unexpected("{", p.afterAttachPointHint(probe, t))
		default:
			p.unexpected("{", "")
		}
	}
	// Skip to the body, if there is one, so that its errors are reported.
	for t := p.cur(); t.kind != tEOF && !p.is("{"); t = p.cur() {
		p.advance()
	}
	if p.is("{") {
		p.panicking = false
		probe.Body = p.parseBlock()
	}
}

// afterAttachPointHint explains the common mistakes that leave an
// unexpected token after the attach points.
func (p *parser) afterAttachPointHint(probe *Probe, t token) string {
	last := probe.AttachPoints[len(probe.AttachPoints)-1]
	pathOnly := len(last.Parts) == 1 && (last.Canonical == "uprobe" || last.Canonical == "uretprobe" || last.Canonical == "usdt")
	if strings.Contains(last.Func(), "/") && !pathOnly {
		return "put white space between the attach point and the predicate: a / right after an attach point is read as part of it"
	}
	if t.kind == tIdent && t.end.Offset < len(p.src) && p.src[t.end.Offset] == ':' {
		return "separate attach points with a comma"
	}
	return ""
}
