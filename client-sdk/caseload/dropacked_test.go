package caseload

import (
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A pull drops every accepted change it covers, however many: more than
// one transaction can delete (2.5 chunks), those after the mark staying.
func TestDropAckedMany(t *testing.T) {
	d := memDevice(t)
	client, record := newID(), newID()
	bucket, _ := uid(client)
	rec, _ := uid(record)
	const n = dropChunk*5/2 + 10
	for seq := uint64(1); seq <= n; seq++ {
		raw, err := proto.Marshal(&v1.Change{DeviceSeq: seq, ClientId: client, RecordId: record, Field: "notes"})
		if err != nil {
			t.Fatal(err)
		}
		b := d.db.NewBatch()
		must(t, b.Set(seqKey(pAcked, seq), raw))
		must(t, b.Set(indexKey(bucket, rec, seq), []byte{pAcked}))
		must(t, b.Flush())
	}
	must(t, d.dropAcked(n-10))
	if got, want := countKeys(t, d, pAcked), 10; got != want {
		t.Errorf("%d accepted changes left, want %d", got, want)
	}
	if got, want := countKeys(t, d, pIndex), 10; got != want {
		t.Errorf("%d index keys left, want %d", got, want)
	}
}
