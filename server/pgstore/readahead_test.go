package pgstore_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// recordReader is what syncengine asks of a transaction that reads a
// push's records in one round trip.
type recordReader interface {
	ReadRecords(bucket string, records []string) error
}

// Record answers after ReadRecords as it does without it: a stored record
// as stored, an absent one as absent, one put in the transaction as put
// (the read-ahead does not replace it), a bad id refused, and a record not
// read ahead from the database.
func TestReadRecordsAnswersAsRecordDoes(t *testing.T) {
	ctx := context.Background()
	s := openPostgres(t, t.Name())
	bucket, stored, absent, put, other := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	state := func(id string, pos uint64, v string) *v1.RecordState {
		return &v1.RecordState{RecordId: id, RecordType: "contact", Position: pos, Fields: []*v1.FieldState{{Field: "notes", Value: &v1.Value{Kind: &v1.Value_StringValue{StringValue: v}}}}}
	}
	if err := s.Buckets(ctx, func(tx store.BucketTx) error {
		for i, id := range []string{stored, other} {
			if err := tx.PutRecord(bucket, state(id, uint64(i+1), "stored")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, record string
		want         *v1.RecordState
		wantErr      bool
	}{
		{"stored", stored, state(stored, 1, "stored"), false},
		{"absent", absent, nil, false},
		{"put in the transaction", put, state(put, 9, "put"), false},
		{"not read ahead", other, state(other, 2, "stored"), false},
		{"not a canonical id", "NOT-A-UUID", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got *v1.RecordState
			var gotErr error
			err := s.Buckets(ctx, func(tx store.BucketTx) error {
				if err := tx.PutRecord(bucket, state(put, 9, "put")); err != nil {
					return err
				}
				rr, ok := tx.(recordReader)
				if !ok {
					t.Fatal("the transaction does not read records ahead")
				}
				if err := rr.ReadRecords(bucket, []string{stored, absent, put, "NOT-A-UUID"}); err != nil {
					return err
				}
				got, gotErr = tx.Record(bucket, c.record)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if (gotErr != nil) != c.wantErr {
				t.Fatalf("Record(%s): error %v, want error %v", c.name, gotErr, c.wantErr)
			}
			if !proto.Equal(got, c.want) {
				t.Errorf("Record(%s) = %v, want %v", c.name, got, c.want)
			}
		})
	}
}
