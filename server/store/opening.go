package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// storeMeta is the store's metadata as Badger replayed it.
type storeMeta struct {
	format    uint64
	cursorKey []byte // nil: no metadata
	stored    uint64 // the number of the last commit (keyCommit)
	recorded  bool   // the store keeps an acknowledgement record (keyAckRecord)
}

func readMeta(db *badger.DB) (storeMeta, error) {
	var m storeMeta
	err := db.View(func(txn *badger.Txn) error {
		var err error
		if m.format, err = getUint(txn, keyFormat); err != nil {
			return err
		}
		if m.stored, err = getUint(txn, keyCommit); err != nil {
			return err
		}
		rec, err := getUint(txn, keyAckRecord)
		if err != nil {
			return err
		}
		m.recorded = rec != 0
		item, err := txn.Get(keyCursorKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		m.cursorKey, err = item.ValueCopy(nil)
		return err
	})
	return m, err
}

// init creates a new store's metadata, or checks an existing store's
// against the acknowledgement record (st is nil for a store in memory).
func (s *DB) init(o Options, st *dirState) error {
	m, err := readMeta(s.db)
	if err != nil {
		return err
	}
	if m.format > formatVersion {
		return fmt.Errorf("store: data format %d is newer than this server understands (%d)", m.format, formatVersion)
	}
	s.commits.last = m.stored
	if m.cursorKey != nil {
		s.cursorKey = m.cursorKey
		if st == nil {
			return nil
		}
		return s.checkOpened(o, st, m)
	}
	if st != nil {
		if st.hadStore {
			return &DamageError{Dir: o.Dir, Kind: DamageNoMetadata, Acknowledged: st.acked}
		}
		if s.commits.ack, _, err = openAckFile(o.Dir); err != nil {
			return fmt.Errorf("store: opening %s: %w", AckFileName, err)
		}
	}
	s.cursorKey = make([]byte, 32)
	rand.Read(s.cursorKey)
	return s.update(func(txn *badger.Txn) error {
		return setAll(txn, map[string][]byte{
			string(keyCursorKey): s.cursorKey,
			string(keyLateIndex): be64(1), // nothing to index yet
			string(keyFormat):    be64(formatVersion),
			string(keyAckRecord): be64(1),
		})
	})
}

// checkOpened compares what Badger replayed with the acknowledgement
// record, and opens the record for the commits to come.
func (s *DB) checkOpened(o Options, st *dirState, m storeMeta) error {
	loss := st.accepted
	var d *DamageError
	switch {
	case st.ackErr != nil:
		d = &DamageError{Dir: o.Dir, Kind: DamageAckRecord, Files: []string{AckFileName}, Err: st.ackErr}
	case !st.ackFound && m.recorded:
		d = &DamageError{Dir: o.Dir, Kind: DamageAckRecord, Files: []string{AckFileName}}
	case m.stored < st.acked:
		d = &DamageError{Dir: o.Dir, Kind: DamageShortfall, Stored: m.stored, Acknowledged: st.acked}
	}
	if d != nil {
		if err := accept(o, st, d); err != nil {
			return err
		}
		loss = st.accepted
	}
	// Numbers go on above both, so the record never has to go back.
	s.commits.last = max(m.stored, st.acked)
	var err error
	if st.ackFound && st.ackErr == nil {
		s.commits.ack, _, err = openAckFile(o.Dir)
	} else {
		// A store written before the record existed, or a record lost and
		// the loss accepted.
		s.commits.ack, err = createAckFile(o.Dir, s.commits.last)
	}
	if err != nil {
		return fmt.Errorf("store: opening %s: %w", AckFileName, err)
	}
	if len(loss) > 0 {
		return s.acceptLoss(o, loss, m.stored, st.acked)
	}
	if !m.recorded {
		o.Logger.Info().Str("data", o.Dir).Str("file", AckFileName).
			Msg("created the acknowledgement record: from now on an open checks that no acknowledged write is missing")
		return s.update(func(txn *badger.Txn) error { return txn.Set(keyAckRecord, be64(1)) })
	}
	return nil
}

// AcceptedLoss records an open that went on despite damage because
// Options.AcceptDataLoss was set.
type AcceptedLoss struct {
	// At is when the store was opened.
	At time.Time
	// Stored and Acknowledged are the number of the last commit the store
	// held then and of the last one its acknowledgement record said was
	// acknowledged (Stored is the lower when writes were lost).
	Stored, Acknowledged uint64
	// Damage says what was wrong, one entry per kind of damage found.
	Damage []string
}

// acceptLoss makes every device reset, and records why: the cursor key is
// replaced, so every cursor issued before is refused and every device
// pulls afresh.
func (s *DB) acceptLoss(o Options, loss []*DamageError, stored, acked uint64) error {
	rec := AcceptedLoss{At: time.Now().UTC(), Stored: stored, Acknowledged: acked}
	for _, d := range loss {
		rec.Damage = append(rec.Damage, d.Error())
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := s.update(func(txn *badger.Txn) error {
		return setAll(txn, map[string][]byte{
			string(keyCursorKey):    key,
			string(lossKey(rec.At)): b,
			string(keyAckRecord):    be64(1),
		})
	}); err != nil {
		return fmt.Errorf("store: recording the accepted data loss: %w", err)
	}
	s.cursorKey = key
	o.Logger.Warn().Str("data", o.Dir).Strs("damage", rec.Damage).Uint64("stored", stored).Uint64("acknowledged", acked).
		Msg("opened a damaged store (--accept-data-loss): what the damage lost is gone; the cursor key is replaced, so every device resets and pulls again")
	return nil
}

// AcceptedLosses returns every open that went on despite damage, oldest
// first.
func (s *DB) AcceptedLosses(ctx context.Context) ([]AcceptedLoss, error) {
	var out []AcceptedLoss
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: keyLossPrefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var rec AcceptedLoss
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
				return err
			}
			out = append(out, rec)
		}
		return ctx.Err()
	})
	return out, mapErr(err)
}

func lossKey(at time.Time) []byte {
	return append(append([]byte(nil), keyLossPrefix...), be64(uint64(at.UnixNano()))...)
}

func setAll(txn *badger.Txn, kv map[string][]byte) error {
	for k, v := range kv {
		if err := txn.Set([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}
