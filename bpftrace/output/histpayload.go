package output

// histPayload reads the payload of a "hist" record: a bucket list, or an
// object of keyed bucket lists.
func (p *parser) histPayload(arity int) ([]Entry, error) {
	if p.peek() == '[' {
		b, err := p.buckets()
		if err != nil {
			return nil, err
		}
		if !p.atEnd() {
			return nil, p.errorf("trailing data")
		}
		return []Entry{{Buckets: b}}, nil
	}
	var entries []Entry
	err := p.keyed(arity, func(q *parser, key []any) error {
		b, err := q.buckets()
		entries = append(entries, Entry{Key: key, Buckets: b})
		return err
	})
	return entries, err
}

// buckets reads [{"min": 4, "max": 7, "count": 1}, ...]. The list of a
// zero()ed histogram is empty but not nil.
func (p *parser) buckets() ([]Bucket, error) {
	if err := p.expect('['); err != nil {
		return nil, err
	}
	list := []Bucket{}
	if p.consume(']') {
		return list, nil
	}
	for {
		if err := p.expect('{'); err != nil {
			return nil, err
		}
		var bk Bucket
		if !p.consume('}') {
			for {
				name, err := p.member()
				if err != nil {
					return nil, err
				}
				switch name {
				case "min", "max":
					n, err := p.integer()
					if err != nil {
						return nil, err
					}
					if name == "min" {
						bk.Min = &n
					} else {
						bk.Max = &n
					}
				case "count":
					if bk.Count, err = p.unsigned(); err != nil {
						return nil, err
					}
				default:
					if err := p.skip(0); err != nil {
						return nil, err
					}
				}
				more, err := p.next('}')
				if err != nil {
					return nil, err
				}
				if !more {
					break
				}
			}
		}
		list = append(list, bk)
		more, err := p.next(']')
		if err != nil {
			return nil, err
		}
		if !more {
			return list, nil
		}
	}
}

// statsPayload reads the payload of a "stats" record. avg() maps come as
// plain integers, stats() maps as {"count": 2, "average": 15, "total": 30};
// either may be keyed.
func (p *parser) statsPayload(arity int, keyedHint bool) ([]Entry, error) {
	if p.peek() != '{' {
		v, err := p.integer()
		if err != nil {
			return nil, err
		}
		if !p.atEnd() {
			return nil, p.errorf("trailing data")
		}
		return []Entry{{Value: v}}, nil
	}
	if !keyedHint {
		// An unkeyed stats() map; a keyed avg() map with the keys count,
		// average and total reads the same, and needs KeyArity.
		q := *p
		if s, err := q.statsObject(); err == nil && q.atEnd() {
			return []Entry{{Stats: s}}, nil
		}
	}
	var entries []Entry
	err := p.keyed(arity, func(q *parser, key []any) error {
		e := Entry{Key: key}
		var err error
		if q.peek() == '{' {
			e.Stats, err = q.statsObject()
		} else {
			var v int64
			v, err = q.integer()
			e.Value = v
		}
		entries = append(entries, e)
		return err
	})
	return entries, err
}

// statsObject reads {"count": 2, "average": 15, "total": 30}: exactly these
// three members.
func (p *parser) statsObject() (*Stats, error) {
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	s := &Stats{}
	var seen uint8
	if !p.consume('}') {
		for {
			name, err := p.member()
			if err != nil {
				return nil, err
			}
			var (
				dst *int64
				bit uint8
			)
			switch name {
			case "count":
				dst, bit = &s.Count, 1
			case "average":
				dst, bit = &s.Average, 2
			case "total":
				dst, bit = &s.Total, 4
			default:
				return nil, p.errorf("unknown stats member %q", name)
			}
			if *dst, err = p.integer(); err != nil {
				return nil, err
			}
			seen |= bit
			more, err := p.next('}')
			if err != nil {
				return nil, err
			}
			if !more {
				break
			}
		}
	}
	if seen != 7 {
		return nil, p.errorf("want count, average and total")
	}
	return s, nil
}
