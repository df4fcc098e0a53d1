package colzstd

import (
	"cmp"
	"encoding/hex"
	"slices"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The columns of one field path, by what they hold.
const (
	colKind    = iota // a kind byte per length-delimited value
	colDict           // kindDict: the index in the path's dictionary
	colUUID           // kindUUID: 16 bytes
	colLen            // kindRaw: the length
	colRaw            // kindRaw: the bytes
	colTok            // kindText: tokens, 0-terminated
	colVarint         // varints: zigzag of the difference from the path's last one
	colFixed32        // 4 bytes
	colFixed64        // 8 bytes
	numCols
)

// suffix names each kind of column in a column's key (path + ":" + suffix).
const suffix = "kdulrtvwx"

// How a length-delimited value is sent.
const (
	kindMsg    = iota // a message: its fields follow in the structure, then 0
	kindDict          // a value seen before on this path
	kindUUID          // a canonical lowercase UUID, as its 16 bytes
	kindRaw           // as it is (and added to the path's dictionary)
	kindText          // long text, as word tokens
	kindBigMsg        // a message of bigMsg bytes or more: as kindMsg, its length in the length column
)

const (
	// maxDepth is the deepest message taken apart (protobuf's own limit is 100).
	maxDepth = 64
	// maxDict bounds a path's dictionary: values past it are sent raw.
	maxDict = 1 << 16
	// bigMsg is the size from which a message's length is sent, so the
	// receiver need not move it once rebuilt to fit its length in front.
	bigMsg = 1 << 14
	// textMin is the shortest string sent as tokens.
	textMin = 32
	// tokEnd ends a text; tokSep says the next token is a separator.
	tokEnd, tokSep, tokBase = 0, 1, 2
)

// column is one column's bytes, under its key in the frame.
type column struct {
	key string
	b   []byte
	gen int // the message it was last used in
}

// node is one field path: the field numbers and wire types from the root.
type node struct {
	key  string
	md   protoreflect.MessageDescriptor // the message found here (or at the root), if the descriptor says
	text bool                           // a string field: long values go as tokens
	kids []*node
	tag  uint64
	cols [numCols]*column
	prev uint64
	dict table // the dictionary: values seen (UUIDs and others), by index
}

func (n *node) reset() {
	n.prev = 0
	n.dict.reset()
	for _, k := range n.kids {
		k.reset()
	}
}

// shredder takes messages apart. It is reused message after message,
// keeping its paths and buffers.
type shredder struct {
	gen  int
	cols []*column // the columns of this message, in the order first used
	st   *column   // the structure: tags, and 0 at each message's end
	runs *column   // the text runs, each the first time it is used
	rid  table
	buf  []byte // the body of the last message
	cuts []int
	root *node
	md   protoreflect.MessageDescriptor
}

func (s *shredder) reset(md protoreflect.MessageDescriptor) {
	s.gen++
	s.cols = s.cols[:0]
	if s.root == nil || s.md != md {
		s.root, s.md = &node{md: md}, md
		s.st, s.runs = &column{key: "S"}, &column{key: "T"}
	}
	s.root.reset()
	s.rid.reset()
	s.use(s.st)
	s.use(s.runs)
}

// use makes c one of this message's columns, emptied if it was last used
// in another.
func (s *shredder) use(c *column) *column {
	if c.gen != s.gen {
		c.gen, c.b = s.gen, c.b[:0]
		s.cols = append(s.cols, c)
	}
	return c
}

func (s *shredder) col(n *node, which int) *column {
	if n.cols[which] == nil {
		n.cols[which] = &column{key: n.key + ":" + suffix[which:which+1]}
	}
	return s.use(n.cols[which])
}

// child is the path under n for tag, its descriptor found from n's.
func (n *node) child(tag uint64) *node {
	for _, k := range n.kids {
		if k.tag == tag {
			return k
		}
	}
	k := &node{key: n.key + "." + strconv.FormatUint(tag, 10), tag: tag}
	if n.md != nil {
		if fd := n.md.Fields().ByNumber(protowire.Number(tag >> 3)); fd != nil && protowire.Type(tag&7) == protowire.BytesType {
			switch fd.Kind() {
			case protoreflect.MessageKind:
				k.md = fd.Message()
			case protoreflect.StringKind:
				k.text = true
			}
		}
	}
	n.kids = append(n.kids, k)
	return k
}

// shred takes msg apart as a message of md's shape and returns the
// columns' body and where in it each chunk ends (a large column is a chunk
// of its own, so that it is compressed alone; the last end is the body's),
// or false if msg is not canonical protobuf of
// that shape (the caller sends it as it is).
func (s *shredder) shred(msg []byte, md protoreflect.MessageDescriptor) ([]byte, []int, bool) {
	s.reset(md)
	if !s.message(msg, s.root, 0) {
		return nil, nil, false
	}
	s.st.b = append(s.st.b, 0)
	body, cuts := s.body()
	return body, cuts, true
}

// largeColumn is the size from which a column is compressed alone.
const largeColumn = 4 << 10

// body is the column directory (count, then each key and length) and the
// columns, and the offsets where its chunks end: at the start and end of
// each large column, and at the body's end.
func (s *shredder) body() ([]byte, []int) {
	// Small columns first, after the directory; then each large one.
	slices.SortStableFunc(s.cols, func(a, b *column) int {
		return cmp.Compare(b2i(len(a.b) >= largeColumn), b2i(len(b.b) >= largeColumn))
	})
	size := 0
	for _, c := range s.cols {
		size += len(c.key) + len(c.b) + 8
	}
	out := appendUvarint(slices.Grow(s.buf[:0], size), uint64(len(s.cols)))
	for _, c := range s.cols {
		out = appendUvarint(out, uint64(len(c.key)))
		out = append(out, c.key...)
		out = appendUvarint(out, uint64(len(c.b)))
	}
	cuts := s.cuts[:0]
	for _, c := range s.cols {
		if len(c.b) >= largeColumn && len(out) > 0 {
			cuts = append(cuts, len(out))
		}
		out = append(out, c.b...)
	}
	s.buf, s.cuts = out, append(cuts, len(out))
	return s.buf, s.cuts
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// message takes apart the fields in b at path n.
func (s *shredder) message(b []byte, n *node, depth int) bool {
	if depth > maxDepth {
		return false
	}
	for len(b) > 0 {
		tag, k := protowire.ConsumeVarint(b)
		if k < 0 || protowire.SizeVarint(tag) != k || tag>>3 == 0 || tag>>3 > uint64(protowire.MaxValidNumber) {
			return false
		}
		b = b[k:]
		c := n.child(tag)
		s.st.b = appendUvarint(s.st.b, tag)
		switch protowire.Type(tag & 7) {
		case protowire.VarintType:
			v, k := protowire.ConsumeVarint(b)
			if k < 0 || protowire.SizeVarint(v) != k {
				return false
			}
			col := s.col(c, colVarint)
			col.b = appendUvarint(col.b, zigzag(v-c.prev))
			c.prev, b = v, b[k:]
		case protowire.Fixed32Type, protowire.Fixed64Type:
			w, which := 4, colFixed32
			if protowire.Type(tag&7) == protowire.Fixed64Type {
				w, which = 8, colFixed64
			}
			if len(b) < w {
				return false
			}
			col := s.col(c, which)
			col.b, b = append(col.b, b[:w]...), b[w:]
		case protowire.BytesType:
			v, k := protowire.ConsumeBytes(b)
			if k < 0 || protowire.SizeBytes(len(v)) != k || !s.value(v, c, depth) {
				return false
			}
			b = b[k:]
		default: // groups, and wire types protobuf does not have
			return false
		}
	}
	return true
}

// value takes apart one length-delimited value at path c.
func (s *shredder) value(v []byte, c *node, depth int) bool {
	kinds := s.col(c, colKind)
	switch {
	case c.md != nil:
		if len(v) >= bigMsg {
			kinds.b = append(kinds.b, kindBigMsg)
			l := s.col(c, colLen)
			l.b = appendUvarint(l.b, uint64(len(v)))
		} else {
			kinds.b = append(kinds.b, kindMsg)
		}
		if !s.message(v, c, depth+1) {
			return false
		}
		s.st.b = append(s.st.b, 0)
	case c.text && len(v) >= textMin && len(v) != uuidLen:
		s.textValue(v, c, kinds) // not a UUID: long texts are never looked up
	default:
		i, seen, at := c.dict.find(v)
		if seen {
			kinds.b = append(kinds.b, kindDict)
			col := s.col(c, colDict)
			col.b = appendUvarint(col.b, uint64(i))
			return true
		}
		raw, uuid := parseUUID(v)
		switch {
		case uuid:
			kinds.b = append(kinds.b, kindUUID)
			col := s.col(c, colUUID)
			col.b = append(col.b, raw[:]...)
		case c.text && len(v) >= textMin:
			s.textValue(v, c, kinds)
			return true
		default:
			kinds.b = append(kinds.b, kindRaw)
			l, r := s.col(c, colLen), s.col(c, colRaw)
			l.b = appendUvarint(l.b, uint64(len(v)))
			r.b = append(r.b, v...)
		}
		if c.dict.len() < maxDict {
			c.dict.add(v, at)
		}
	}
	return true
}

// textValue sends v, a long text, as tokens. Long texts are not
// remembered: a value found in a path's dictionary is never one, so the
// dictionary is not searched for them.
func (s *shredder) textValue(v []byte, c *node, kinds *column) {
	kinds.b = append(kinds.b, kindText)
	s.text(v, s.col(c, colTok))
}

// uuidLen is the length of a UUID's text.
const uuidLen = 36

// uuidPairs are where the hex digits of each of a UUID's 16 bytes start in
// its text.
var uuidPairs = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// hexVal is the value of each lowercase hex digit; other bytes have bits
// 0xf0 set.
var hexVal = func() (t [256]uint8) {
	for b := range 256 {
		switch {
		case b >= '0' && b <= '9':
			t[b] = uint8(b - '0')
		case b >= 'a' && b <= 'f':
			t[b] = uint8(b - 'a' + 10)
		default:
			t[b] = 0xf0
		}
	}
	return t
}()

// parseUUID is the 16 bytes of v if v is a UUID in canonical lowercase
// form.
func parseUUID(v []byte) ([16]byte, bool) {
	var raw [16]byte
	if len(v) != uuidLen || v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return raw, false
	}
	v = v[:uuidLen]
	var bad uint8
	for i, at := range uuidPairs {
		hi, lo := hexVal[v[at]], hexVal[v[at+1]]
		bad |= hi | lo
		raw[i] = hi<<4 | lo
	}
	return raw, bad&0xf0 == 0
}

func formatUUID(dst, raw []byte) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], raw[0:4])
	hex.Encode(buf[9:13], raw[4:6])
	hex.Encode(buf[14:18], raw[6:8])
	hex.Encode(buf[19:23], raw[8:10])
	hex.Encode(buf[24:36], raw[10:16])
	buf[8], buf[13], buf[18], buf[23] = '-', '-', '-', '-'
	return append(dst, buf[:]...)
}

func zigzag(d uint64) uint64 { x := int64(d); return uint64(x<<1) ^ uint64(x>>63) }

func unzigzag(u uint64) uint64 { return (u >> 1) ^ -(u & 1) }

// appendUvarint appends v as a uvarint: most are one byte, done inline.
func appendUvarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

func uvarint(b []byte) (uint64, int) { return protowire.ConsumeVarint(b) }
