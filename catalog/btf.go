package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
)

var errBadBTF = errors.New("malformed BTF")

// btfNames holds what listing needs from kernel BTF: the function names
// (kfunc candidates) and the iterator targets (struct bpf_iter__<name>).
type btfNames struct {
	funcs []string // sorted, unique
	iters []string // sorted, unique
}

// BTF kinds whose records carry data after the common 12-byte header, and
// the size of each element of that data.
const (
	btfKindInt       = 1
	btfKindArray     = 3
	btfKindStruct    = 4
	btfKindUnion     = 5
	btfKindEnum      = 6
	btfKindFunc      = 12
	btfKindFuncProto = 13
	btfKindVar       = 14
	btfKindDatasec   = 15
	btfKindDeclTag   = 17
	btfKindEnum64    = 19
)

// parseBTFNames walks the type section of a raw BTF blob
// (/sys/kernel/btf/vmlinux) and collects function and iterator names.
func parseBTFNames(data []byte) (btfNames, error) {
	if len(data) < 24 {
		return btfNames{}, errBadBTF
	}
	var order binary.ByteOrder
	switch {
	case data[0] == 0x9f && data[1] == 0xeb:
		order = binary.LittleEndian
	case data[0] == 0xeb && data[1] == 0x9f:
		order = binary.BigEndian
	default:
		return btfNames{}, errBadBTF
	}
	hdrLen := uint64(order.Uint32(data[4:8]))
	typeOff, typeLen := uint64(order.Uint32(data[8:12])), uint64(order.Uint32(data[12:16]))
	strOff, strLen := uint64(order.Uint32(data[16:20])), uint64(order.Uint32(data[20:24]))
	if hdrLen < 24 || hdrLen+typeOff+typeLen > uint64(len(data)) || hdrLen+strOff+strLen > uint64(len(data)) {
		return btfNames{}, errBadBTF
	}
	types := data[hdrLen+typeOff : hdrLen+typeOff+typeLen]
	strs := data[hdrLen+strOff : hdrLen+strOff+strLen]
	name := func(off uint32) string {
		if uint64(off) >= uint64(len(strs)) {
			return ""
		}
		end := bytes.IndexByte(strs[off:], 0)
		if end < 0 {
			return ""
		}
		return string(strs[off : int(off)+end])
	}
	var n btfNames
	for len(types) >= 12 {
		nameOff := order.Uint32(types[0:4])
		info := order.Uint32(types[4:8])
		vlen := uint64(info & 0xffff)
		kind := (info >> 24) & 0x1f
		extra := uint64(0)
		switch kind {
		case btfKindInt, btfKindVar, btfKindDeclTag:
			extra = 4
		case btfKindArray:
			extra = 12
		case btfKindStruct, btfKindUnion, btfKindDatasec, btfKindEnum64:
			extra = 12 * vlen
		case btfKindEnum, btfKindFuncProto:
			extra = 8 * vlen
		}
		if 12+extra > uint64(len(types)) {
			return btfNames{}, errBadBTF
		}
		switch kind {
		case btfKindFunc:
			if s := name(nameOff); s != "" {
				n.funcs = append(n.funcs, s)
			}
		case btfKindStruct:
			if s, ok := strings.CutPrefix(name(nameOff), "bpf_iter__"); ok && s != "" {
				n.iters = append(n.iters, s)
			}
		}
		types = types[12+extra:]
	}
	n.funcs, n.iters = sortUnique(n.funcs), sortUnique(n.iters)
	return n, nil
}
