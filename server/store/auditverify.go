package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// AuditReport is what VerifyAudit found: one chain per area, and the
// entries still waiting to be sealed.
type AuditReport struct {
	Chains []AuditChain
	// Pending counts entries committed with their operations and not yet
	// sealed into a chain (the next audited write, or Close, seals them).
	Pending int
}

// OK reports whether every chain is whole.
func (r *AuditReport) OK() bool {
	for _, c := range r.Chains {
		if c.Break != nil {
			return false
		}
	}
	return true
}

// AuditChain is one area's chain as verified.
type AuditChain struct {
	Area string
	// Entries is how many entries were checked before the end or the break.
	Entries uint64
	// Head is the hash of the last entry checked; record it elsewhere
	// (with the backups, say) to notice a chain rewritten from some entry
	// on: a rewritten chain is whole, but its head is not the one recorded.
	Head [32]byte
	// Break, if set, is where the chain breaks.
	Break *AuditBreak
}

// AuditBreak says where a chain breaks: at entry Seq, what was expected and
// what was found (hashes in hex where the break is a hash).
type AuditBreak struct {
	Seq             uint64
	Problem         string
	Expected, Found string
}

func (b *AuditBreak) String() string {
	s := fmt.Sprintf("entry %d: %s", b.Seq, b.Problem)
	if b.Expected != "" || b.Found != "" {
		s += fmt.Sprintf(" (expected %s, found %s)", b.Expected, b.Found)
	}
	return s
}

// VerifyAudit checks every area's audit chain: entries numbered 1, 2, …
// without gaps, each decodable, each holding the SHA-256 of the one before,
// and the last one matching the chain's head. It reads only.
func (s *DB) VerifyAudit(ctx context.Context) (*AuditReport, error) {
	rep := &AuditReport{}
	err := s.db.View(func(txn *badger.Txn) error {
		areas, err := auditAreas(txn)
		if err != nil {
			return err
		}
		for _, area := range areas {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, err := verifyChain(txn, area)
			if err != nil {
				return err
			}
			rep.Chains = append(rep.Chains, *c)
		}
		rep.Pending = countPrefix(txn, []byte{dAuditPending})
		return nil
	})
	return rep, mapErr(err)
}

// auditAreas lists the areas with a chain head or chain entries.
func auditAreas(txn *badger.Txn) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte{dAuditHead}
	it := txn.NewIterator(opts)
	for it.Rewind(); it.ValidForPrefix(opts.Prefix); it.Next() {
		add(string(it.Item().Key()[1:]))
	}
	it.Close()
	opts.Prefix = []byte{dAuditEntry}
	it = txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.ValidForPrefix(opts.Prefix); it.Next() {
		k := it.Item().Key()
		if len(k) < 1+1+8 || k[len(k)-9] != 0 {
			return nil, fmt.Errorf("store: a malformed audit key %x", k)
		}
		add(string(k[1 : len(k)-9]))
	}
	return out, nil
}

func hexHash(h [32]byte) string { return hex.EncodeToString(h[:]) }

// verifyChain walks one area's chain.
func verifyChain(txn *badger.Txn, area string) (*AuditChain, error) {
	c := &AuditChain{Area: area}
	prefix := append(dkey(dAuditEntry, area), 0)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := txn.NewIterator(opts)
	defer it.Close()
	var prev [32]byte
	var seq uint64
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		k := it.Item().Key()
		if len(k) != len(prefix)+8 {
			continue // another area whose id extends this one's
		}
		got := binary.BigEndian.Uint64(k[len(prefix):])
		want := seq + 1
		if got != want {
			c.Break = &AuditBreak{Seq: want, Problem: "entry missing", Expected: fmt.Sprintf("entry %d", want), Found: fmt.Sprintf("entry %d next", got)}
			return c, nil
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		e, err := DecodeAudit(v)
		if err != nil {
			c.Break = &AuditBreak{Seq: want, Problem: "entry cannot be decoded"}
			return c, nil
		}
		switch {
		case e.Seq != want:
			c.Break = &AuditBreak{Seq: want, Problem: "entry holds another sequence number", Expected: fmt.Sprint(want), Found: fmt.Sprint(e.Seq)}
			return c, nil
		case e.AreaID != area:
			c.Break = &AuditBreak{Seq: want, Problem: "entry holds another area", Expected: area, Found: e.AreaID}
			return c, nil
		case e.Prev != prev:
			c.Break = &AuditBreak{Seq: want, Problem: fmt.Sprintf("previous-entry hash does not match entry %d (one of the two was changed)", seq),
				Expected: hexHash(prev), Found: hexHash(e.Prev)}
			return c, nil
		}
		prev, seq = sha256.Sum256(v), want
		c.Entries, c.Head = seq, prev
	}
	h, err := readHead(txn, area)
	if err != nil {
		c.Break = &AuditBreak{Seq: seq + 1, Problem: "chain head cannot be read: " + err.Error()}
		return c, nil
	}
	if h.Seq != seq || h.Hash != prev {
		c.Break = &AuditBreak{Seq: h.Seq, Problem: fmt.Sprintf("chain head does not match the last entry (%d)", seq),
			Expected: fmt.Sprintf("%d:%s", seq, hexHash(prev)), Found: fmt.Sprintf("%d:%s", h.Seq, hexHash(h.Hash))}
	}
	return c, nil
}

func countPrefix(txn *badger.Txn, prefix []byte) int {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	it := txn.NewIterator(opts)
	defer it.Close()
	n := 0
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		n++
	}
	return n
}
