package caseload

// Building the agenda index (agenda.go): a bucket marked stale is rebuilt
// from its records as the device shows them, in chunks (chunked.go).

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"slices"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// markStale marks a client's index stale, in the transaction that changes
// what its records show.
func markStale(txn interface{ Set(k, v []byte) error }, bucket [16]byte) error {
	return txn.Set(bucketPrefix(pStale, bucket), nil)
}

// refreshIndex rebuilds the index of stale buckets (of every bucket if
// the store has no index yet).
func (d *Device) refreshIndex(ctx context.Context) error {
	d.indexMu.Lock()
	defer d.indexMu.Unlock()
	if err := d.read(func(*local.Txn) error { return nil }); err != nil {
		return err
	}
	if err := d.indexAll(); err != nil {
		return err
	}
	me := d.me()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var stale [][16]byte
		err := d.db.View(func(txn *local.Txn) error {
			it := txn.NewIterator(local.IterOptions{Prefix: []byte{pStale}})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(stale) < 64; it.Next() {
				stale = append(stale, [16]byte(it.Key()[1:17]))
			}
			return nil
		})
		if err != nil || len(stale) == 0 {
			return err
		}
		for _, b := range stale {
			if err := d.reindex(b, me); err != nil {
				return err
			}
		}
	}
}

// indexAll marks every bucket stale if the store has no index yet, in
// chunks; the index meta is written with the last, so a stop before it
// leaves the store to be marked again.
func (d *Device) indexAll() error {
	want := d.indexMeta()
	var ops []op
	err := d.db.View(func(txn *local.Txn) error {
		if v, ok, err := get(txn, metaIndex); err != nil || ok && bytes.Equal(v, want) {
			return err
		}
		seen := map[[16]byte]bool{}
		for _, p := range []byte{pRecord, pIndex, pIndexed} {
			it := txn.NewIterator(local.IterOptions{Prefix: []byte{p}})
			for it.Rewind(); it.Valid(); it.Next() {
				if b := [16]byte(it.Key()[1:17]); !seen[b] {
					seen[b] = true
					ops = append(ops, op{key: bucketPrefix(pStale, b)})
				}
			}
			it.Close()
		}
		ops = append(ops, op{key: metaIndex, val: want})
		return nil
	})
	if err != nil || len(ops) == 0 {
		return err
	}
	return d.writeChunked(ops, nil)
}

// indexMeta is what the index was built by: its layout version and the
// TOP schedule (a store indexed otherwise is indexed again).
func (d *Device) indexMeta() []byte {
	s := d.cfg.TOPSchedule
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(be64(indexVersion), uint32(s.IntervalMonths)), uint32(s.WindowDays))
}

// reindex rebuilds one bucket's index, again if a concurrent write
// touched the bucket meanwhile.
func (d *Device) reindex(bucket [16]byte, me *v1.Author) error {
	for range 5 {
		done, err := d.reindexOnce(bucket, me)
		if err != nil && !errors.Is(err, local.ErrConflict) {
			return err
		}
		if done {
			return nil
		}
	}
	return errors.New("caseload: the agenda index kept changing while being rebuilt")
}

// reindexOnce rebuilds a bucket's index from a snapshot of its records, in
// chunks (see indexOps), and clears its stale mark with the last unless a
// write marked it again since the snapshot (done is then false).
func (d *Device) reindexOnce(bucket [16]byte, me *v1.Author) (done bool, err error) {
	staleKey := bucketPrefix(pStale, bucket)
	var (
		mark    uint64
		marked  bool
		entries []indexEntry
		held    heldIndex
	)
	err = d.db.View(func(txn *local.Txn) error {
		if mark, marked, err = txn.Version(staleKey); err != nil {
			return err
		}
		recs, err := d.bucketView(txn, bucket, me)
		if err != nil {
			return err
		}
		if entries, err = indexEntries(bucket, recs, d.cfg.TOPSchedule); err != nil {
			return err
		}
		held, err = readHeldIndex(txn, bucket)
		return err
	})
	if err != nil {
		return false, err
	}
	err = d.writeChunked(indexOps(bucket, entries, held), func(txn *local.Txn) error {
		// Read the mark, so a write marking it from now on fails this
		// transaction (ErrConflict) rather than be lost with it.
		now, ok, err := txn.Version(staleKey)
		if err != nil || ok != marked || now != mark {
			return err // marked again since the snapshot: rebuild again
		}
		done = true
		return txn.Delete(staleKey)
	})
	return done && err == nil, err
}

// heldIndex is what a bucket's index holds now: its keys, listed one by
// one under x<bucket><key>, and the list an index of layout 2 kept whole
// under x<bucket> (legacy), if there is one.
type heldIndex struct {
	keys   [][]byte
	legacy bool
}

func readHeldIndex(txn *local.Txn, bucket [16]byte) (heldIndex, error) {
	var h heldIndex
	it := txn.NewIterator(local.IterOptions{Prefix: bucketPrefix(pIndexed, bucket)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Key()
		switch len(k) {
		case 17:
			list, err := it.ValueCopy()
			if err != nil {
				return h, err
			}
			for ; len(list) >= indexKeyLen; list = list[indexKeyLen:] {
				h.keys = append(h.keys, list[:indexKeyLen:indexKeyLen])
			}
			h.legacy = true
		case 17 + indexKeyLen:
			h.keys = append(h.keys, slices.Clone(k[17:]))
		}
	}
	return h, nil
}

// heldKey lists an index key as held by its bucket.
func heldKey(bucket [16]byte, key []byte) []byte {
	return append(bucketPrefix(pIndexed, bucket), key...)
}

// indexOps are the writes that turn a bucket's held index into entries,
// ordered so that the keys listed as held are a superset of those held
// after any prefix of them: new keys are listed before they are written,
// old ones deleted before they are unlisted, a legacy list last.
func indexOps(bucket [16]byte, entries []indexEntry, held heldIndex) []op {
	was := make(map[string]bool, len(held.keys))
	for _, k := range held.keys {
		was[string(k)] = true
	}
	is := make(map[string]bool, len(entries))
	var ops, unlist []op
	for _, e := range entries {
		is[string(e.key)] = true
		if !was[string(e.key)] || held.legacy {
			ops = append(ops, op{key: heldKey(bucket, e.key)})
		}
	}
	for _, e := range entries {
		ops = append(ops, op{key: e.key, val: e.val})
	}
	for _, k := range held.keys {
		if !is[string(k)] {
			ops = append(ops, op{key: k, del: true})
			unlist = append(unlist, op{key: heldKey(bucket, k), del: true})
		}
	}
	ops = append(ops, unlist...)
	if held.legacy {
		ops = append(ops, op{key: bucketPrefix(pIndexed, bucket), del: true})
	}
	return ops
}

type indexEntry struct{ key, val []byte }

// indexEntries are a bucket's index entries, from its records as shown.
func indexEntries(bucket [16]byte, recs map[string]*localRecord, sched topschedule.Schedule) ([]indexEntry, error) {
	var (
		out    []indexEntry
		latest []*localRecord // the latest contacts (ties kept)
	)
	for _, r := range recs {
		st := r.state
		if merge.IsDeleted(st) {
			continue
		}
		switch st.GetRecordType() {
		case "appointment":
			record, err := uid(st.GetRecordId())
			if err != nil {
				continue // not ours to index
			}
			val, err := indexValue(r)
			if err != nil {
				return nil, err
			}
			start := instant(st, "starts_at")
			out = append(out, indexEntry{entryKey(timeKey(pAgenda, start), bucket, record), val})
			if str(st, "status") == "booked" {
				out = append(out, indexEntry{entryKey(timeKey(pBooked, start), bucket, record), nil})
			}
		case "contact":
			if len(latest) == 0 {
				latest = append(latest, r)
				continue
			}
			switch instant(st, "occurred_at").Compare(instant(latest[0].state, "occurred_at")) {
			case 1:
				latest = append(latest[:0], r)
			case 0:
				latest = append(latest, r)
			}
		}
	}
	for _, r := range latest {
		due := date(r.state, "follow_up_date")
		record, err := uid(r.state.GetRecordId())
		if due.IsZero() || err != nil {
			continue
		}
		val, err := indexValue(r)
		if err != nil {
			return nil, err
		}
		out = append(out, indexEntry{entryKey(dayKey(pFollowUp, due), bucket, record), val})
	}
	if e, ok := topDueEntry(bucket, recs, sched); ok {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b indexEntry) int { return cmp.Compare(string(a.key), string(b.key)) })
	return out, nil
}

func indexValue(r *localRecord) ([]byte, error) {
	pending := byte(0)
	if r.pending {
		pending = 1
	}
	return proto.MarshalOptions{}.MarshalAppend([]byte{pending}, r.state)
}
