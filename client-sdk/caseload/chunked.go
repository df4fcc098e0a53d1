package caseload

// Work too large for one transaction of the local store.
//
// Badger refuses a transaction of more than 15% of a memtable: some 26,000
// keys, or 2.5 MB, with the store's 16 MB memtables (ErrTxnTooBig). What
// can write an unbounded number of keys does it in chunks, each its own
// transaction, ordered so that a process stopped between two leaves a
// state the reads show correctly, and so that the work is finished later:
//
//   - Purging a client (an eviction): its eviction mark and a purge mark
//     (p<bucket>) come first, in one transaction, so every read shows the
//     client gone from then on; its pulled records and accepted changes go
//     in chunks; the purge mark last. A purge mark left by a stop is
//     finished as below.
//   - Resetting what was pulled: a reset mark (m"resetting") comes first,
//     with the cursor and the agenda index's meta deleted in the same
//     transaction, so the next pull starts over whatever happens; the
//     records and accepted changes go in chunks; the mark last.
//   - Rebuilding a client's agenda index (agenda.go): the bucket stays
//     stale until its last chunk, and its list of index keys is always a
//     superset of the keys it holds, so the next read rebuilds it and
//     removes whatever an earlier rebuild left.
//   - Marking a store for indexing: the index meta is written last.
//   - Settling a push (outbox.go): each change is settled on its own, the
//     write marks moved past each chunk; a change left in the outbox by a
//     stop is sent again and answered as a duplicate with its first verdict.
//   - Dropping accepted changes a pull covered (sync.go): each is in the
//     pulled state already.
//   - Renumbering after the server lost changes (renumber.go): a mark
//     first, then whole writes moved in seq order; run again, it moves
//     only what it had not.
//
// A renumbering, reset or purge a stop left unfinished is finished when
// the store is opened and at the start of the next Sync.

import (
	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
)

const (
	// pPurging marks a client whose purge has begun and not finished:
	// p<bucket 16>.
	pPurging = 'p'

	// chunkKeys and chunkBytes bound one chunk's writes, well inside
	// Badger's limit on a transaction.
	chunkKeys  = 8192
	chunkBytes = 1 << 20
)

// metaResetting marks a reset (resetLocal) begun and not finished.
var metaResetting = metaKey("resetting")

// op is one write of chunked work: a set, or a deletion.
type op struct {
	key, val []byte
	del      bool
	more     bool // the next op goes in the same transaction
}

func (o op) size() int { return len(o.key) + len(o.val) }

// chunkDone runs after a chunk of work commits: the test hook's error, if
// one is set, stops the work there, as a process stopped between chunks.
func (d *Device) chunkDone() error {
	if d.afterChunk != nil {
		return d.afterChunk()
	}
	return nil
}

// writeChunked writes ops, in order, in transactions of at most chunkKeys
// keys and chunkBytes bytes; last, if given, runs in the transaction of the
// last chunk (one of its own if there are no ops). A stop between chunks
// leaves the ops before it written, those after it not.
func (d *Device) writeChunked(ops []op, last func(*local.Txn) error) error {
	for {
		n, size := 0, 0
		for n < len(ops) && (n < chunkKeys && size < chunkBytes || ops[n-1].more) {
			size += ops[n].size()
			n++
		}
		chunk, final := ops[:n], n == len(ops)
		err := d.db.Update(func(txn *local.Txn) error {
			for _, o := range chunk {
				var err error
				if o.del {
					err = txn.Delete(o.key)
				} else {
					err = txn.Set(o.key, o.val)
				}
				if err != nil {
					return err
				}
			}
			if final && last != nil {
				return last(txn)
			}
			return nil
		})
		if err != nil || final {
			return err
		}
		if err := d.chunkDone(); err != nil {
			return err
		}
		ops = ops[n:]
	}
}

// deletePrefix deletes every key with the prefix, in chunks.
func (d *Device) deletePrefix(prefix []byte) error {
	for {
		var keys [][]byte
		err := d.db.View(func(txn *local.Txn) error {
			it := txn.NewIterator(local.IterOptions{Prefix: prefix})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < chunkKeys; it.Next() {
				keys = append(keys, it.KeyCopy())
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		wb := d.db.NewBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			return err
		}
		if err := d.chunkDone(); err != nil {
			return err
		}
	}
}

// finishPending finishes the work a stop left half done: a renumbering,
// a reset, purges.
func (d *Device) finishPending() error {
	var (
		renumbering, resetting bool
		highWater              uint64
		purging                [][16]byte
	)
	err := d.db.View(func(txn *local.Txn) error {
		v, ok, err := get(txn, metaRenumbering)
		if err != nil {
			return err
		}
		if renumbering = ok && len(v) == 8; renumbering {
			highWater = beUint(v)
		}
		if _, resetting, err = get(txn, metaResetting); err != nil {
			return err
		}
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pPurging}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			purging = append(purging, [16]byte(it.Key()[1:17]))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if renumbering {
		d.mu.Lock()
		err := d.finishRenumberLocked(highWater)
		d.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if resetting {
		if err := d.finishReset(); err != nil {
			return err
		}
	}
	for _, b := range purging {
		if err := d.finishPurge(b); err != nil {
			return err
		}
	}
	return nil
}

// purge removes a client's pulled records and accepted changes from the
// device. Changes not yet sent stay in the outbox, to be sent and kept as
// rejections: the server refuses late work from a device it has told to
// drop the client. (Sync pushes before it pulls, so work done while the
// client was on the caseload has been delivered, flagged late, by then.)
func (d *Device) purge(bucket [16]byte) error {
	err := d.db.Update(func(txn *local.Txn) error {
		if err := txn.Set(bucketPrefix(pEvicted, bucket), nil); err != nil {
			return err
		}
		if err := txn.Set(bucketPrefix(pPurging, bucket), nil); err != nil {
			return err
		}
		return markStale(txn, bucket)
	})
	if err != nil {
		return err
	}
	return d.finishPurge(bucket)
}

// finishPurge deletes what an evicted client's purge has not yet: its
// pulled records, then its accepted changes, then the purge mark.
func (d *Device) finishPurge(bucket [16]byte) error {
	if err := d.deletePrefix(bucketPrefix(pRecord, bucket)); err != nil {
		return err
	}
	for {
		n, err := d.dropSomeAccepted(bucket)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if err := d.chunkDone(); err != nil {
			return err
		}
	}
	return d.db.Update(func(txn *local.Txn) error { return txn.Delete(bucketPrefix(pPurging, bucket)) })
}

// dropSomeAccepted deletes up to dropChunk of a client's accepted changes
// with their index keys, and says how many it deleted. They are read in
// the transaction that deletes them, so a concurrent renumbering (which
// moves accepted changes back to the outbox) fails it rather than lose an
// index key.
func (d *Device) dropSomeAccepted(bucket [16]byte) (int, error) {
	var n int
	err := d.db.Update(func(txn *local.Txn) error {
		it := txn.NewIterator(local.IterOptions{Prefix: bucketPrefix(pIndex, bucket), PrefetchValues: true})
		defer it.Close()
		var dels [][]byte
		for it.Rewind(); it.Valid() && len(dels) < 2*dropChunk; it.Next() {
			where, err := it.ValueCopy()
			if err != nil {
				return err
			}
			if len(where) == 1 && where[0] == pAcked {
				k := it.KeyCopy()
				dels = append(dels, k, seqKey(pAcked, beUint(k[33:])))
			}
		}
		for _, k := range dels {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		n = len(dels) / 2
		return nil
	})
	return n, err
}

// resetLocal drops everything pulled (records, the cursor, the overlay of
// accepted changes) and keeps the outbox and the rejections.
func (d *Device) resetLocal() error {
	if err := d.db.Update(markReset); err != nil {
		return err
	}
	if err := d.finishReset(); err != nil {
		return err
	}
	d.events.emit(Event{Kind: Reset})
	return nil
}

// markReset begins a reset: the next pull starts over (no cursor), the
// agenda is indexed again, and the rest is finished even after a stop.
func markReset(txn *local.Txn) error {
	if err := txn.Set(metaResetting, nil); err != nil {
		return err
	}
	if err := txn.Delete(metaIndex); err != nil {
		return err
	}
	return txn.Delete(metaCursor)
}

// finishReset deletes what a reset has not yet: the pulled records, the
// accepted changes, then the mark. The index meta goes again with the
// mark: a read during the reset may have indexed records deleted since.
func (d *Device) finishReset() error {
	if err := d.deletePrefix([]byte{pRecord}); err != nil {
		return err
	}
	if err := d.dropAcked(^uint64(0)); err != nil {
		return err
	}
	return d.db.Update(func(txn *local.Txn) error {
		if err := txn.Delete(metaIndex); err != nil {
			return err
		}
		return txn.Delete(metaResetting)
	})
}
