package caseload

// A pull page read without decoding its records. The device stores each
// record as the bytes the server sent and decodes it only when it is read,
// so a first sync of a large caseload costs a copy per record, not a decode
// and a re-encode. The envelope (buckets, cursor, flags) is read with
// syncproto/wire, by the field numbers of the generated PullResponse.

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/wire"
)

// page is a pull page with its records still encoded.
type page struct {
	buckets    []pageBucket
	cursor     []byte
	hasMore    bool
	serverTime time.Time
	sent       time.Time // when the request left
}

type pageBucket struct {
	clientID string
	action   v1.BucketAction
	records  []pageRecord
}

type pageRecord struct {
	id, recordType string
	raw            []byte // an encoded RecordState
}

// hasAppointments reports whether the bucket brings appointments.
func (b pageBucket) hasAppointments() bool {
	for _, r := range b.records {
		if r.recordType == "appointment" {
			return true
		}
	}
	return false
}

// pageOf turns a decoded page (from the live stream) into a page.
func pageOf(resp *v1.PullResponse) (*page, error) {
	p := &page{cursor: resp.GetCursor(), hasMore: resp.GetHasMore()}
	if ts := resp.GetServerTime(); ts != nil {
		p.serverTime = ts.AsTime()
	}
	for _, bu := range resp.GetBuckets() {
		b := pageBucket{clientID: bu.GetClientId(), action: bu.GetAction()}
		for _, r := range bu.GetRecords() {
			raw, err := proto.Marshal(r)
			if err != nil {
				return nil, err
			}
			b.records = append(b.records, pageRecord{id: r.GetRecordId(), recordType: r.GetRecordType(), raw: raw})
		}
		p.buckets = append(p.buckets, b)
	}
	return p, nil
}

var errMalformed = errors.New("caseload: malformed page from the server")

// parsePage reads an encoded PullResponse. The page keeps (sub-slices of)
// buf, which must not be reused.
func parsePage(buf []byte) (*page, error) {
	p := &page{}
	var (
		more       uint64
		serverTime []byte
		bad        error // from a bucket
	)
	err := wire.Each(buf, func(num wire.Number, typ wire.Type, b []byte) int {
		switch num {
		case wire.PullResponse.Buckets:
			var v []byte
			n := wire.Bytes(typ, b, &v)
			if n > 0 {
				bk, err := parseBucket(v)
				if err != nil {
					bad = err
					return -1
				}
				p.buckets = append(p.buckets, bk)
			}
			return n
		case wire.PullResponse.Cursor:
			return wire.Bytes(typ, b, &p.cursor)
		case wire.PullResponse.HasMore:
			return wire.Varint(typ, b, &more)
		case wire.PullResponse.ServerTime:
			return wire.Bytes(typ, b, &serverTime)
		}
		return 0
	})
	if bad != nil {
		return nil, bad
	}
	if err != nil {
		return nil, malformed(err)
	}
	p.hasMore = more != 0
	if serverTime != nil {
		secs, nanos, err := wire.ReadTimestamp(serverTime)
		if err != nil {
			return nil, malformed(err)
		}
		p.serverTime = time.Unix(secs, int64(nanos))
	}
	return p, nil
}

func parseBucket(buf []byte) (pageBucket, error) {
	var (
		bk     pageBucket
		id     []byte
		action uint64
		bad    error // from a record
	)
	err := wire.Each(buf, func(num wire.Number, typ wire.Type, b []byte) int {
		switch num {
		case wire.BucketUpdate.ClientID:
			return wire.Bytes(typ, b, &id)
		case wire.BucketUpdate.Action:
			return wire.Varint(typ, b, &action)
		case wire.BucketUpdate.Records:
			var v []byte
			n := wire.Bytes(typ, b, &v)
			if n > 0 {
				rid, rtype, err := recordHead(v)
				if err != nil {
					bad = err
					return -1
				}
				bk.records = append(bk.records, pageRecord{id: rid, recordType: rtype, raw: v})
			}
			return n
		}
		return 0
	})
	if bad != nil {
		return bk, bad
	}
	bk.clientID, bk.action = string(id), v1.BucketAction(action)
	return bk, malformed(err)
}

// recordHead reads a RecordState's record_id and record_type.
func recordHead(buf []byte) (id, recordType string, err error) {
	var rid, rtype []byte
	err = wire.Each(buf, func(num wire.Number, typ wire.Type, b []byte) int {
		switch num {
		case wire.RecordState.RecordID:
			return wire.Bytes(typ, b, &rid)
		case wire.RecordState.RecordType:
			return wire.Bytes(typ, b, &rtype)
		}
		return 0
	})
	if err != nil {
		return "", "", malformed(err)
	}
	if len(rid) == 0 {
		return "", "", fmt.Errorf("%w: a record without an id", errMalformed)
	}
	return string(rid), string(rtype), nil
}

// malformed wraps a decoding error as errMalformed (nil stays nil).
func malformed(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", errMalformed, err)
}

// rawResponse is a pull response kept as the bytes it came in: wire.Codec
// hands them over instead of decoding them.
type rawResponse struct{ buf []byte }

// UnmarshalRaw keeps a copy of b (it belongs to a pool).
func (r *rawResponse) UnmarshalRaw(b []byte) error {
	r.buf = append([]byte(nil), b...)
	return nil
}
