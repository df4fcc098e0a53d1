package caseload

import (
	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Storing pulled pages. A page's records are written whole (the server
// sends a record's whole current state), snapshots replace what was held
// for a client, evictions purge it. The cursor moves past a page only once
// its records are synced to disk, so a page a crash interrupts is pulled
// again (a record written twice is the same record).

// pullBatchBytes is how many bytes of records a pull stores before it
// syncs them and moves the cursor past them. Syncing the store's logs
// costs the same for a page as for many (issue 16: at a page each, 6% of
// a tablet's CPU in a first sync of a million contacts); a crash re-pulls
// at most this much.
const pullBatchBytes = 8 << 20

// pullBatch is the pages a pull has stored and not yet committed (synced,
// and the cursor moved past them).
type pullBatch struct {
	d      *Device
	cursor []byte // the last stored page's; nil: nothing stored since the last commit
	bytes  int64  // of records stored since the last commit
	wrote  bool   // records stored since the last commit
}

// add stores page p, reports it and commits the batch when it holds
// pullBatchBytes, when p is the last page, or when p carried a snapshot or
// an eviction (rare, and a purge is better known to be final). A page that
// fails to store is not committed, nor is anything before it: it all comes
// again in the next pull.
func (b *pullBatch) add(p *page, rep *SyncReport) error {
	st, err := b.d.storePage(p)
	if err != nil {
		return err
	}
	b.cursor, b.bytes, b.wrote = p.cursor, b.bytes+st.bytes, b.wrote || st.records > 0
	if !p.hasMore || b.bytes >= pullBatchBytes || p.hasBucketActions() {
		if err := b.commit(); err != nil {
			return err
		}
	}
	b.d.reportPage(st, rep)
	return nil
}

// commit syncs what the batch stored and moves the cursor past it.
func (b *pullBatch) commit() error {
	if b.cursor == nil {
		return nil
	}
	err := b.d.commitPull(b.cursor, b.wrote)
	b.cursor, b.bytes, b.wrote = nil, 0, false
	return err
}

// applyPage stores page p, commits it and reports it: a page on its own
// (a live update).
func (d *Device) applyPage(p *page, rep *SyncReport) error {
	st, err := d.storePage(p)
	if err != nil {
		return err
	}
	if err := d.commitPull(p.cursor, st.records > 0); err != nil {
		return err
	}
	d.reportPage(st, rep)
	return nil
}

// storedPage is what storing a page wrote.
type storedPage struct {
	touched pageClients
	records int
	bytes   int64
}

// storePage carries out page p's snapshots and evictions and writes its
// records, unsynced.
func (d *Device) storePage(p *page) (storedPage, error) {
	touched, err := d.applyBucketActions(p)
	if err != nil {
		return storedPage{}, err
	}
	records, bytesIn, err := d.writePageRecords(p)
	if err != nil {
		return storedPage{}, err
	}
	return storedPage{touched: touched, records: records, bytes: bytesIn}, nil
}

// commitPull syncs the records stored (if wrote) and then moves the cursor
// to cursor.
func (d *Device) commitPull(cursor []byte, wrote bool) error {
	if wrote {
		// The records' values are in the value log, their keys in the
		// write-ahead log: both are on disk before the cursor moves past
		// them, whatever a power cut leaves of either.
		if err := d.db.Sync(); err != nil {
			return err
		}
		// Synced, the pages written need not stay in this process's
		// memory: a full sync's RSS stays flat (see local.ReleaseMapped).
		if err := d.db.ReleaseMapped(); err != nil {
			return err
		}
	}
	return d.db.Update(func(txn *local.Txn) error { return txn.Set(metaCursor, cursor) })
}

// reportPage counts a stored page in rep and the device's progress and
// tells the app what it changed.
func (d *Device) reportPage(st storedPage, rep *SyncReport) {
	rep.Pulled += st.records
	rep.Evicted += len(st.touched.evicted)
	d.mu.Lock()
	d.status.Progress.Records += st.records
	d.status.Progress.Bytes += st.bytes
	d.status.Progress.Pages++
	d.mu.Unlock()
	touched := st.touched
	if len(touched.changed) > 0 {
		d.events.emit(Event{Kind: Pulled, ClientIDs: touched.changed})
	}
	if len(touched.evicted) > 0 {
		d.events.emit(Event{Kind: Evicted, ClientIDs: touched.evicted})
	}
	if len(touched.appointments) > 0 {
		d.events.emit(Event{Kind: AppointmentsChanged, ClientIDs: touched.appointments})
	}
}

// hasBucketActions says whether p snapshots or evicts a client.
func (p *page) hasBucketActions() bool {
	for _, bu := range p.buckets {
		if bu.action == v1.BucketAction_BUCKET_ACTION_EVICT || bu.action == v1.BucketAction_BUCKET_ACTION_SNAPSHOT {
			return true
		}
	}
	return false
}
