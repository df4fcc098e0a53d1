package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/throughcare/throughcare/server/store"
)

// VerifyAudit checks every area's audit chain as the Badger store's
// VerifyAudit does, with the same report: entries numbered 1, 2, …
// without gaps, each decodable, each of its area, each holding the
// SHA-256 of the one before, and the last one matching the area's head
// (audit_heads; an area without a head row has the empty head). It reads
// one snapshot and writes nothing; Pending counts audit_pending.
func (s *DB) VerifyAudit(ctx context.Context) (*store.AuditReport, error) {
	rep := &store.AuditReport{}
	err := s.read(ctx, func(tx pgx.Tx) error {
		areas, err := queryAreas(ctx, tx, "SELECT area FROM audit_heads UNION SELECT DISTINCT area FROM audit_entries ORDER BY area")
		if err != nil {
			return err
		}
		for _, area := range areas {
			c, err := verifyChain(ctx, tx, area)
			if err != nil {
				return err
			}
			rep.Chains = append(rep.Chains, *c)
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM audit_pending").Scan(&rep.Pending)
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: verifying the audit chains: %w", err)
	}
	return rep, nil
}

func hexHash(h [32]byte) string { return hex.EncodeToString(h[:]) }

// verifyChain walks one area's chain, entry by entry.
func verifyChain(ctx context.Context, tx pgx.Tx, area []byte) (*store.AuditChain, error) {
	c := &store.AuditChain{Area: string(area)}
	rows, err := tx.Query(ctx, "SELECT seq, entry FROM audit_entries WHERE area = $1 ORDER BY seq", area)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var prev [32]byte
	var seq uint64
	for rows.Next() {
		var got int64
		var v []byte
		if err := rows.Scan(&got, &v); err != nil {
			return nil, err
		}
		if c.Break = checkEntry(c.Area, seq+1, uint64(got), v, prev); c.Break != nil {
			return c, nil
		}
		prev, seq = sha256.Sum256(v), seq+1
		c.Entries, c.Head = seq, prev
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var hseq int64
	var hash []byte
	err = tx.QueryRow(ctx, "SELECT seq, hash FROM audit_heads WHERE area = $1", area).Scan(&hseq, &hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		hseq, hash = 0, make([]byte, 32)
	case err != nil:
		return nil, err
	case len(hash) != 32:
		c.Break = &store.AuditBreak{Seq: seq + 1, Problem: fmt.Sprintf("chain head cannot be read: its hash is %d bytes, want 32", len(hash))}
		return c, nil
	}
	if uint64(hseq) != seq || [32]byte(hash) != prev {
		c.Break = &store.AuditBreak{Seq: uint64(hseq), Problem: fmt.Sprintf("chain head does not match the last entry (%d)", seq),
			Expected: fmt.Sprintf("%d:%s", seq, hexHash(prev)), Found: fmt.Sprintf("%d:%s", hseq, hex.EncodeToString(hash))}
	}
	return c, nil
}

// checkEntry checks the entry stored at seq got, expected at want after
// the entry whose hash is prev, and returns where it breaks the chain, if
// it does.
func checkEntry(area string, want, got uint64, v []byte, prev [32]byte) *store.AuditBreak {
	if got != want {
		return &store.AuditBreak{Seq: want, Problem: "entry missing", Expected: fmt.Sprintf("entry %d", want), Found: fmt.Sprintf("entry %d next", got)}
	}
	e, err := store.DecodeAudit(v)
	switch {
	case err != nil:
		return &store.AuditBreak{Seq: want, Problem: "entry cannot be decoded"}
	case e.Seq != want:
		return &store.AuditBreak{Seq: want, Problem: "entry holds another sequence number", Expected: fmt.Sprint(want), Found: fmt.Sprint(e.Seq)}
	case e.AreaID != area:
		return &store.AuditBreak{Seq: want, Problem: "entry holds another area", Expected: area, Found: e.AreaID}
	case e.Prev != prev:
		return &store.AuditBreak{Seq: want, Problem: fmt.Sprintf("previous-entry hash does not match entry %d (one of the two was changed)", want-1),
			Expected: hexHash(prev), Found: hexHash(e.Prev)}
	}
	return nil
}
