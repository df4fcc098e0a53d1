package syncengine

import (
	"slices"

	"github.com/throughcare/throughcare/syncproto/schema"
)

// recordReader is a BucketTx that reads many records of a bucket at once
// (the PostgreSQL store: one round trip instead of one per record), for its
// Record to answer from. The Badger store reads a record from memory or
// its cache, and does not need it.
type recordReader interface {
	ReadRecords(bucket string, records []string) error
}

// prefetch reads, in one call per bucket, the records the batch's new
// changes name, if the transaction can (recordReader). It comes after
// touchBuckets has locked the buckets, so it reads what Record would.
func (a *applier) prefetch(hwm uint64) error {
	rr, ok := a.tx.(recordReader)
	if !ok {
		return nil
	}
	byBucket := map[string][]string{}
	var buckets []string
	for _, ch := range a.b.Changes {
		bucket, record := ch.GetClientId(), ch.GetRecordId()
		if ch.GetDeviceSeq() <= hwm || !schema.ValidID(bucket) || !schema.ValidID(record) {
			continue
		}
		if _, ok := byBucket[bucket]; !ok {
			buckets = append(buckets, bucket)
		}
		byBucket[bucket] = append(byBucket[bucket], record)
	}
	slices.Sort(buckets)
	for _, bucket := range buckets {
		records := slices.Compact(slices.Sorted(slices.Values(byBucket[bucket])))
		if err := rr.ReadRecords(bucket, records); err != nil {
			return err
		}
	}
	return nil
}
