package colzstd

// text sends v as runs of word bytes and of other bytes, each run a token
// naming it in the message's run dictionary (a run new to it follows in
// the runs column). A single space between two words is left out: the
// receiver puts one between two word tokens in a row.
func (s *shredder) text(v []byte, toks *column) {
	prevWord := false
	for i := 0; i < len(v); {
		j := i + 1
		if wordBytes[v[i]] {
			for j < len(v) && wordBytes[v[j]] {
				j++
			}
			toks.b = appendUvarint(toks.b, tokBase+uint64(s.wordID(v[i:j])))
			if j+1 < len(v) && v[j] == ' ' && wordBytes[v[j+1]] {
				j++ // a single space before the next word: implicit
			}
			prevWord, i = true, j
			continue
		}
		for j < len(v) && !wordBytes[v[j]] {
			j++
		}
		if !prevWord || j == len(v) || j-i != 1 || v[i] != ' ' {
			toks.b = appendUvarint(toks.b, tokSep)
			toks.b = appendUvarint(toks.b, tokBase+uint64(s.runID(v[i:j])))
		} // else a single space between two words: implicit
		prevWord, i = false, j
	}
	toks.b = append(toks.b, tokEnd)
}

// wordID is runID with the table's fast path inlined: a word of at most
// eight bytes found where its hash first points (most words, most times).
func (s *shredder) wordID(run []byte) uint32 {
	t := &s.rid
	if n := uint32(len(run)); n <= 8 && len(t.slots) > 0 {
		k := pack(run)
		if sl := &t.slots[int(mix(k, n))&(len(t.slots)-1)]; sl.k == k && sl.n == n && sl.id != 0 {
			return sl.id - 1
		}
	}
	return s.runID(run)
}

// runID is run's number in the dictionary, adding it (and its bytes to
// the runs column) if it is new.
func (s *shredder) runID(run []byte) uint32 {
	id, added := s.rid.id(run)
	if added {
		s.runs.b = appendUvarint(s.runs.b, uint64(len(run)))
		s.runs.b = append(s.runs.b, run...)
	}
	return id
}

// wordBytes says which bytes are word bytes: letters, digits and the
// bytes of UTF-8 sequences.
var wordBytes = func() (t [256]bool) {
	for b := range 256 {
		t[b] = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= 0x80
	}
	return t
}()
