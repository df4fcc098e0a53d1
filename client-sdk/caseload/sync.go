package caseload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// SyncReport says what one sync did.
type SyncReport struct {
	// Accepted and Rejected count this device's changes the server took or
	// refused (a refused change is kept: see Rejections).
	Accepted, Rejected int
	// Late counts accepted changes flagged for review because they arrived
	// after the user's access to the client ended (they were made before).
	Late int
	// Pulled counts records received; Evicted the clients purged.
	Pulled, Evicted int
	// Reset is true if the server asked for a fresh pull, or said it lost
	// changes of this device (they were renumbered and sent again).
	Reset bool
}

// SequenceError means the server's record of this device's changes does not
// line up with the device's: the server's data was restored from a backup
// older than changes it had accepted, or the device's store was replaced.
// Nothing is discarded; an operator must look.
type SequenceError struct {
	// HighWater is the last change of this device the server holds.
	HighWater uint64
	// Next is the first change the device still has to send.
	Next uint64
}

func (e *SequenceError) Error() string {
	return fmt.Sprintf("caseload: the server holds this device's changes up to %d but the device's next unsent change is %d", e.HighWater, e.Next)
}

// Sync sends the device's unsynced changes, then pulls what changed on the
// server (new clients arrive whole, clients taken off the caseload are
// purged). It returns ErrSignInRequired if the session is over, and a
// network or server error otherwise; nothing local is lost either way, and
// calling Sync again resumes. On a nearly full tablet Sync still sends
// (confirmed changes leave the outbox), but pulls nothing and returns
// ErrStorageFull: pulled data can be fetched again once space is freed,
// from the cursor of the last page stored.
func (d *Device) Sync(ctx context.Context) (SyncReport, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	var rep SyncReport
	d.mu.Lock()
	closed, enrolled := d.closed, d.session != nil
	d.mu.Unlock()
	if closed {
		return rep, ErrClosed
	}
	if !enrolled {
		return rep, ErrNotEnrolled
	}
	d.setStatus(func(s *Status) { s.Syncing, s.Progress = true, Progress{} })
	// Work a stop left half done (chunked.go) is finished first.
	err := d.finishPending()
	if err == nil {
		err = d.push(ctx, &rep)
	}
	if err == nil && rep.Reset {
		// The server lost changes (push renumbered them): what was pulled
		// from it may be gone too, so pull everything again.
		err = d.resetLocal()
	}
	if err == nil {
		err = d.roomToPull()
	}
	if err == nil {
		err = d.pulledErr(d.pull(ctx, &rep))
	}
	if err == nil && d.garbageDue(rep) {
		// Pulled records replace older copies, purges and resets delete
		// them: reclaim the value log space they held. What this misses
		// (the disk full, say) a later sync reclaims; the sync succeeded.
		_ = d.db.CollectGarbage()
	}
	d.setStatus(func(s *Status) {
		s.Syncing, s.LastError = false, err
		if err == nil {
			s.LastSync = d.cfg.Now()
		}
	})
	if err == nil {
		_ = d.db.Update(func(txn *local.Txn) error { return txn.Set(metaSynced, be64(uint64(d.cfg.Now().UnixNano()))) })
	}
	return rep, err
}

// authed runs a call, refreshing the session once if the server says it
// has ended.
func (d *Device) authed(ctx context.Context, call func() error) error {
	err := call()
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		return err
	}
	if err := d.refresh(ctx); err != nil {
		return err
	}
	return call()
}

// learnOffset keeps the server's clock offset from a response's server
// time, measured against the answer's arrival: the server read its clock
// before that, so the corrected clock may run a little behind the server's
// but never ahead. Behind is the safe side: a contact made just before a
// reassignment must not be stamped after it and refused. (A midpoint
// estimate is no better: delays on the way in and out are not symmetric on
// mobile links.) sent is when the request left, used only to ignore
// answers the local clock places before their request (it was stepped).
func (d *Device) learnOffset(ts *timestamppb.Timestamp, sent time.Time) {
	if ts != nil {
		d.learnTime(ts.AsTime(), sent)
	}
}

func (d *Device) learnTime(server, sent time.Time) {
	if server.IsZero() {
		return
	}
	now := d.cfg.Now()
	if !sent.IsZero() && now.Before(sent) {
		return // the device's clock went backwards during the call
	}
	off := server.Sub(now)
	d.mu.Lock()
	d.offset = off
	d.mu.Unlock()
	_ = d.db.Update(func(txn *local.Txn) error { return txn.Set(metaOffset, be64(uint64(int64(off)))) })
}

// gcEvery is how many records pulled since the last value log collection
// make another due: a reconnect's few hundred do not each pay for one (it
// samples the value log's files), a first sync or a day's worth does.
const gcEvery = 10_000

// garbageDue counts the sync's pulled records and says whether a value
// log collection is due: after an eviction or a reset, or once gcEvery
// records have been pulled since the last.
func (d *Device) garbageDue(rep SyncReport) bool {
	n := d.pulledSinceGC.Add(int64(rep.Pulled))
	if rep.Evicted == 0 && !rep.Reset && n < gcEvery {
		return false
	}
	d.pulledSinceGC.Store(0)
	return true
}

// pull fetches pages until the device is up to date.
func (d *Device) pull(ctx context.Context, rep *SyncReport) error {
	mark, err := d.lastAcked()
	if err != nil {
		return err
	}
	var cursor []byte
	if err := d.db.View(func(txn *local.Txn) error {
		cursor, _, err = get(txn, metaCursor)
		return err
	}); err != nil {
		return err
	}
	// The next page is fetched while this one is written to disk.
	type fetched struct {
		p   *page
		err error
	}
	fetch := func(cursor []byte) <-chan fetched {
		ch := make(chan fetched, 1)
		go func() {
			p, err := d.fetchPage(ctx, cursor)
			ch <- fetched{p, err}
		}()
		return ch
	}
	next := fetch(cursor)
	resets := 0
	b := pullBatch{d: d}
	for {
		f := <-next
		if _, ok := resetReason(f.err); ok && resets < 2 {
			resets++
			rep.Reset = true
			b = pullBatch{d: d} // what it held is reset too
			if err := d.resetLocal(); err != nil {
				return err
			}
			next = fetch(nil)
			continue
		}
		if f.err != nil {
			// Lost signal, a cancelled sync: what was stored stays.
			if err := b.commit(); err != nil {
				return errors.Join(f.err, err)
			}
			return f.err
		}
		if f.p.hasMore {
			next = fetch(f.p.cursor)
		}
		d.learnTime(f.p.serverTime, f.p.sent)
		if err := b.add(f.p, rep); err != nil {
			if f.p.hasMore {
				<-next // let the prefetch finish before returning
			}
			return err
		}
		if !f.p.hasMore {
			break
		}
	}
	// Every change accepted before this pull began is now in the pulled
	// state: stop overlaying it.
	return d.dropAcked(mark)
}

func resetReason(err error) (v1.ResetReason, bool) {
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		return 0, false
	}
	for _, det := range cerr.Details() {
		if m, derr := det.Value(); derr == nil {
			if r, ok := m.(*v1.ResetRequired); ok {
				return r.GetReason(), true
			}
		}
	}
	return 0, false
}

// lastAcked is the highest sequence in the acked set (0: none).
func (d *Device) lastAcked() (uint64, error) {
	var last uint64
	err := d.db.View(func(txn *local.Txn) error {
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pAcked}, Reverse: true})
		defer it.Close()
		it.Seek(seqKey(pAcked, ^uint64(0)))
		if it.Valid() {
			k := it.Key()
			last = beUint(k[1:])
		}
		return nil
	})
	return last, err
}

// dropAcked removes acked changes up to seq from the overlay.
func (d *Device) dropAcked(upTo uint64) error {
	if upTo == 0 {
		return nil
	}
	for {
		n, err := d.dropSomeAcked(upTo)
		if err != nil || n < dropChunk {
			return err
		}
		if err := d.chunkDone(); err != nil {
			return err
		}
	}
}

// dropChunk is the most acked changes one transaction drops: two keys
// each, well inside Badger's limit on a transaction (some 26,000 keys with
// 16 MB memtables). Dropping them in several is safe: each is in the
// pulled state already, so shown the same with or without it.
const dropChunk = 4096

// dropSomeAcked drops up to dropChunk acked changes up to seq, and says how
// many it dropped.
func (d *Device) dropSomeAcked(upTo uint64) (int, error) {
	var n int
	err := d.db.Update(func(txn *local.Txn) error {
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pAcked}, PrefetchValues: true})
		defer it.Close()
		var dels [][]byte
		for it.Rewind(); it.Valid() && len(dels) < 2*dropChunk; it.Next() {
			k := it.KeyCopy()
			if beUint(k[1:]) > upTo {
				break
			}
			ch := &v1.Change{}
			if err := it.Value(func(v []byte) error { return proto.Unmarshal(v, ch) }); err != nil {
				return err
			}
			bucket, record, err := changeKeys(ch)
			if err != nil {
				return err
			}
			dels = append(dels, k, indexKey(bucket, record, ch.GetDeviceSeq()))
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

// fetchPage pulls one page from cursor, its records left encoded.
func (d *Device) fetchPage(ctx context.Context, cursor []byte) (*page, error) {
	req := &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: d.reg.Version(), Cursor: cursor}
	var (
		raw  *rawResponse
		sent time.Time
	)
	err := d.authed(ctx, func() error {
		sent = d.cfg.Now()
		resp, err := d.pullRaw.CallUnary(ctx, connect.NewRequest(req))
		if err == nil {
			raw = resp.Msg
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	p, err := parsePage(raw.buf)
	if p != nil {
		p.sent = sent
	}
	return p, err
}

// pageClients are the clients a page touched, by the event they raise.
type pageClients struct{ changed, evicted, appointments []string }

// applyBucketActions carries out a page's evictions (the client purged) and
// snapshots (what was held for the client dropped, its records to follow),
// and says which clients the page touches.
func (d *Device) applyBucketActions(p *page) (pageClients, error) {
	var touched pageClients
	for _, bu := range p.buckets {
		bucket, err := uid(bu.clientID)
		if err != nil {
			return touched, err
		}
		switch bu.action {
		case v1.BucketAction_BUCKET_ACTION_EVICT:
			if err := d.purge(bucket); err != nil {
				return touched, err
			}
			touched.evicted = append(touched.evicted, bu.clientID)
			continue
		case v1.BucketAction_BUCKET_ACTION_SNAPSHOT:
			if err := d.deletePrefix(bucketPrefix(pRecord, bucket)); err != nil {
				return touched, err
			}
			if err := d.db.Update(func(txn *local.Txn) error { return backOnCaseload(txn, bucket) }); err != nil {
				return touched, err
			}
		}
		if len(bu.records) > 0 {
			touched.changed = append(touched.changed, bu.clientID)
		}
		if bu.hasAppointments() {
			touched.appointments = append(touched.appointments, bu.clientID)
		}
	}
	return touched, nil
}

// writePageRecords writes the page's records in one batch, each client
// they belong to marked stale for its indexes, and returns how many records
// and bytes it wrote.
func (d *Device) writePageRecords(p *page) (int, int64, error) {
	var (
		records int
		bytesIn int64
	)
	wb := d.db.NewBatch()
	for _, bu := range p.buckets {
		if bu.action == v1.BucketAction_BUCKET_ACTION_EVICT {
			continue
		}
		bucket, _ := uid(bu.clientID) // checked by applyBucketActions
		if len(bu.records) > 0 {
			if err := markStale(wb, bucket); err != nil {
				wb.Cancel()
				return 0, 0, err
			}
		}
		for _, r := range bu.records {
			record, err := uid(r.id)
			if err != nil {
				wb.Cancel()
				return 0, 0, err
			}
			if err := wb.Set(recordKey(bucket, record), r.raw); err != nil {
				wb.Cancel()
				return 0, 0, err
			}
			records++
			bytesIn += int64(len(r.raw))
		}
	}
	return records, bytesIn, wb.Flush()
}

// backOnCaseload clears a client's eviction, for a snapshot of it.
func backOnCaseload(txn *local.Txn, bucket [16]byte) error {
	if err := markStale(txn, bucket); err != nil {
		return err
	}
	return txn.Delete(bucketPrefix(pEvicted, bucket))
}

// changeKeys returns the bucket and record of a change as key parts.
func changeKeys(ch *v1.Change) (bucket, record [16]byte, err error) {
	if bucket, err = uid(ch.GetClientId()); err == nil {
		record, err = uid(ch.GetRecordId())
	}
	return bucket, record, err
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func beUint(b []byte) uint64 {
	var n uint64
	for _, c := range b[:8] {
		n = n<<8 | uint64(c)
	}
	return n
}

var timeZero time.Time
