package colzstd

import (
	"encoding/binary"
	"slices"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// reader reads one column from the front. It moves an offset, not the
// slice, so reading stores no pointers (no write barriers).
type reader struct {
	b   []byte
	off int
	bad bool
}

func (r *reader) uvarint() uint64 {
	if off := r.off; off < len(r.b) {
		if v := r.b[off]; v < 0x80 {
			r.off = off + 1
			return uint64(v)
		}
	}
	return r.longUvarint()
}

// longUvarint is uvarint past its one-byte fast path.
func (r *reader) longUvarint() uint64 {
	v, n := uvarint(r.b[min(r.off, len(r.b)):])
	if n < 0 {
		r.bad, r.off = true, len(r.b)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) take(n uint64) []byte {
	if n > uint64(len(r.b)-r.off) {
		r.bad, r.off = true, len(r.b)
		return nil
	}
	v := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return v
}

func (r *reader) byte() (byte, bool) {
	if r.off >= len(r.b) {
		r.bad = true
		return 0, false
	}
	r.off++
	return r.b[r.off-1], true
}

func (r *reader) rest() int { return len(r.b) - r.off }

// bnode is a field path while rebuilding: its columns and state.
type bnode struct {
	key  string
	kids []*bnode
	next int // the kid after the one last found: fields come in order
	tag  uint64
	cols [numCols]*reader
	prev uint64
	dict [][]byte
}

// runWord is a short text run as two little-endian words.
type runWord struct{ lo, hi uint64 }

// builder rebuilds a message from its columns.
type builder struct {
	cols    map[string]*reader
	st      *reader
	runs    *reader
	runList [][]byte
	// runWords is each run of up to fifteen bytes as two words (its
	// bytes, then its length in the top byte), zero for a longer one: the
	// tokens of short runs are copied sixteen bytes at a time.
	runWords []runWord
	max      int
	root     *bnode
	arena    []byte // formatted UUIDs
}

func (b *builder) col(n *bnode, which int) *reader {
	if n.cols[which] == nil {
		n.cols[which] = b.column(n.key + ":" + suffix[which:which+1])
	}
	return n.cols[which]
}

func (b *builder) column(key string) *reader {
	if r := b.cols[key]; r != nil {
		return r
	}
	return &reader{bad: true}
}

func (n *bnode) child(tag uint64) *bnode {
	if n.next < len(n.kids) && n.kids[n.next].tag == tag {
		n.next++
		return n.kids[n.next-1]
	}
	for i, k := range n.kids {
		if k.tag == tag {
			n.next = i + 1
			return k
		}
	}
	k := &bnode{key: n.key + "." + strconv.FormatUint(tag, 10), tag: tag}
	n.kids = append(n.kids, k)
	n.next = len(n.kids)
	return k
}

// build rebuilds the message of size bytes from a frame's body into out
// (from its start), or fails with errBadFrame. The builder keeps its paths
// and buffers for the next message.
func (b *builder) build(body []byte, size int, out []byte) ([]byte, error) {
	b.reset(size)
	if !b.directory(body) {
		return out, errBadFrame
	}
	b.st, b.runs = b.column("S"), b.column("T")
	// The declared size is only a claim: room for it is made up front only
	// as far as the body could plausibly expand.
	out, ok := b.message(slices.Grow(out[:0], min(size, 16*len(body)+4096)), b.root, 0)
	if !ok || len(out) != size {
		return out, errBadFrame
	}
	return out, nil
}

func (b *builder) reset(size int) {
	// Lengths are rebuilt in two reserved bytes each, so a message being
	// rebuilt may run past its size by two bytes a level.
	b.max = size + 2*(maxDepth+2)
	if b.cols == nil {
		b.cols, b.root = make(map[string]*reader), &bnode{}
	}
	clear(b.cols)
	b.root.reset()
	b.runList, b.runWords = b.runList[:0], b.runWords[:0]
	b.arena = nil
}

func (n *bnode) reset() {
	n.cols, n.prev, n.dict = [numCols]*reader{}, 0, n.dict[:0]
	for _, k := range n.kids {
		k.reset()
	}
}

// uuid formats raw into the builder's arena.
func (b *builder) uuid(raw []byte) []byte {
	if cap(b.arena)-len(b.arena) < 36 {
		b.arena = make([]byte, 0, 64<<10) // the old one stays with what it holds
	}
	at := len(b.arena)
	b.arena = formatUUID(b.arena, raw)
	return b.arena[at:len(b.arena):len(b.arena)]
}

// directory reads the column directory and slices the columns out of body.
func (b *builder) directory(body []byte) bool {
	r := reader{b: body}
	n := r.uvarint()
	if n > uint64(len(body)) {
		return false
	}
	keys := make([]string, n)
	lens := make([]uint64, n)
	for i := range keys {
		keys[i] = string(r.take(r.uvarint()))
		lens[i] = r.uvarint()
	}
	for i, k := range keys {
		c := r.take(lens[i])
		if r.bad {
			return false
		}
		b.cols[k] = &reader{b: c}
	}
	return !r.bad && r.rest() == 0
}

// message rebuilds fields into out until the structure's 0.
func (b *builder) message(out []byte, n *bnode, depth int) ([]byte, bool) {
	if depth > maxDepth {
		return out, false
	}
	for {
		tag := b.st.uvarint()
		if b.st.bad || len(out) > b.max {
			return out, false
		}
		if tag == 0 {
			return out, true
		}
		c := n.child(tag)
		out = appendUvarint(out, tag)
		var ok bool
		switch protowire.Type(tag & 7) {
		case protowire.VarintType:
			r := b.col(c, colVarint)
			c.prev += unzigzag(r.uvarint())
			out, ok = appendUvarint(out, c.prev), !r.bad
		case protowire.Fixed32Type:
			r := b.col(c, colFixed32)
			out = append(out, r.take(4)...)
			ok = !r.bad
		case protowire.Fixed64Type:
			r := b.col(c, colFixed64)
			out = append(out, r.take(8)...)
			ok = !r.bad
		case protowire.BytesType:
			out, ok = b.value(out, c, depth)
		}
		if !ok {
			return out, false
		}
	}
}

// value rebuilds one length-delimited value, with its length, at path c.
func (b *builder) value(out []byte, c *bnode, depth int) ([]byte, bool) {
	kind, ok := b.col(c, colKind).byte()
	if !ok {
		return out, false
	}
	switch kind {
	case kindMsg:
		at := len(out)
		out, ok = b.message(append(out, 0, 0), c, depth+1)
		return putLength(out, at), ok
	case kindBigMsg:
		l := b.col(c, colLen)
		n := l.uvarint()
		if l.bad || n > uint64(b.max) {
			return out, false
		}
		out = protowire.AppendVarint(out, n)
		at := len(out)
		out, ok = b.message(out, c, depth+1)
		return out, ok && uint64(len(out)-at) == n
	case kindText:
		at := len(out)
		out, ok = b.tokens(append(out, 0, 0), b.col(c, colTok))
		return putLength(out, at), ok
	case kindDict:
		r := b.col(c, colDict)
		i := r.uvarint()
		if r.bad || i >= uint64(len(c.dict)) {
			return out, false
		}
		return protowire.AppendBytes(out, c.dict[i]), true
	case kindUUID:
		r := b.col(c, colUUID)
		raw := r.take(16)
		if r.bad {
			return out, false
		}
		v := b.uuid(raw)
		b.remember(c, v)
		return protowire.AppendBytes(out, v), true
	case kindRaw:
		l, r := b.col(c, colLen), b.col(c, colRaw)
		v := r.take(l.uvarint())
		if l.bad || r.bad {
			return out, false
		}
		b.remember(c, v)
		return protowire.AppendBytes(out, v), true
	}
	return out, false
}

func (b *builder) remember(c *bnode, v []byte) {
	if len(c.dict) < maxDict {
		c.dict = append(c.dict, v)
	}
}

// putLength writes the length of what follows the two bytes reserved at
// out[at:] as its varint there, moving what follows if the varint is not
// two bytes long: rebuilding a nested message in place costs a move of a
// small one (under 128 bytes) or a large one (16 KiB or more), never a
// copy at each level of nesting.
func putLength(out []byte, at int) []byte {
	n := len(out) - at - 2
	k := protowire.SizeVarint(uint64(n))
	switch {
	case k < 2:
		copy(out[at+k:], out[at+2:])
		out = out[:len(out)-(2-k)]
	case k > 2:
		out = slices.Grow(out, k-2)[:len(out)+k-2]
		copy(out[at+k:], out[at+2:len(out)-(k-2)])
	}
	protowire.AppendVarint(out[:at], uint64(n))
	return out
}

// tokens rebuilds a text from its tokens. Most tokens are one byte and
// name a short run already seen: that path reads the column directly and
// writes the run as one word.
func (b *builder) tokens(out []byte, r *reader) ([]byte, bool) {
	prevWord := false
	words := b.runWords
	for {
		if len(out) > b.max {
			return out, false
		}
		var t uint64
		if r.off < len(r.b) && r.b[r.off] < 0x80 {
			t = uint64(r.b[r.off])
			r.off++
		} else if t = r.uvarint(); r.bad {
			return out, false
		}
		if i := t - tokBase; t >= tokBase && i < uint64(len(words)) {
			if prevWord {
				out = append(out, ' ')
			}
			if w, l := words[i], len(out); w.hi != 0 && cap(out)-l >= 16 {
				binary.LittleEndian.PutUint64(out[l:l+8], w.lo)
				binary.LittleEndian.PutUint64(out[l+8:l+16], w.hi)
				out = out[:l+int(w.hi>>56)]
			} else {
				out = append(out, b.runList[i]...)
			}
			prevWord = true
			continue
		}
		sep := t == tokSep
		if sep {
			t = r.uvarint()
		}
		if t == tokEnd && !sep {
			return out, !r.bad
		}
		run, ok := b.run(t)
		if !ok {
			return out, false
		}
		words = b.runWords
		if !sep && prevWord {
			out = append(out, ' ')
		}
		out, prevWord = append(out, run...), !sep
	}
}

// run is the text run token t names, reading it from the runs column the
// first time.
func (b *builder) run(t uint64) ([]byte, bool) {
	if t < tokBase || t-tokBase > uint64(len(b.runList)) {
		return nil, false
	}
	if i := t - tokBase; i < uint64(len(b.runList)) {
		return b.runList[i], true
	}
	v := b.runs.take(b.runs.uvarint())
	if b.runs.bad || len(v) == 0 {
		return nil, false
	}
	b.runList = append(b.runList, v)
	var w runWord
	if len(v) < 16 {
		w.lo, w.hi = pack(v[:min(len(v), 8)]), pack(v[min(len(v), 8):])|uint64(len(v))<<56
	}
	b.runWords = append(b.runWords, w)
	return v, true
}
