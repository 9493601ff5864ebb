package catalog

import (
	"debug/elf"
	"encoding/binary"
)

// note is one ELF note record.
type note struct {
	name string // without the trailing NUL
	typ  uint32
	desc []byte
}

// noteAlign is the alignment of a note section's fields: 8 only for
// sections that say so (.note.gnu.property on 64-bit), else 4.
func noteAlign(s *elf.Section) int {
	if s.Addralign == 8 {
		return 8
	}
	return 4
}

// parseNotes splits a note section into records. It stops at the first
// record that does not fit, so truncated or hostile data yields a prefix.
func parseNotes(data []byte, order binary.ByteOrder, align int) []note {
	var notes []note
	for len(data) >= 12 {
		namesz := uint64(order.Uint32(data[0:4]))
		descsz := uint64(order.Uint32(data[4:8]))
		typ := order.Uint32(data[8:12])
		off := uint64(12)
		nameEnd := off + namesz
		descOff := alignUp(nameEnd, uint64(align))
		descEnd := descOff + descsz
		if nameEnd > uint64(len(data)) || descEnd > uint64(len(data)) {
			break
		}
		name := data[off:nameEnd]
		if n := len(name); n > 0 && name[n-1] == 0 {
			name = name[:n-1]
		}
		notes = append(notes, note{name: string(name), typ: typ, desc: data[descOff:descEnd]})
		next := alignUp(descEnd, uint64(align))
		if next > uint64(len(data)) {
			break
		}
		data = data[next:]
	}
	return notes
}

func alignUp(n, a uint64) uint64 {
	return (n + a - 1) &^ (a - 1)
}
