package caseload

// A pull page read without decoding its records. The device stores each
// record as the bytes the server sent and decodes it only when it is read,
// so a first sync of a large caseload costs a copy per record, not a decode
// and a re-encode. The envelope (buckets, cursor, flags) is read with
// protowire; it follows the PullResponse message in sync.proto.

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
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
	id  string
	raw []byte // an encoded RecordState
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
			b.records = append(b.records, pageRecord{id: r.GetRecordId(), raw: raw})
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
	err := fields(buf, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType: // buckets
			b, err := parseBucket(v)
			if err != nil {
				return err
			}
			p.buckets = append(p.buckets, b)
		case num == 2 && typ == protowire.BytesType: // cursor
			p.cursor = v
		case num == 3 && typ == protowire.VarintType: // has_more
			p.hasMore = n != 0
		case num == 4 && typ == protowire.BytesType: // server_time
			var secs, nanos uint64
			if err := fields(v, func(num protowire.Number, typ protowire.Type, _ []byte, n uint64) error {
				switch num {
				case 1:
					secs = n
				case 2:
					nanos = n
				}
				return nil
			}); err != nil {
				return err
			}
			p.serverTime = time.Unix(int64(secs), int64(nanos))
		}
		return nil
	})
	return p, err
}

func parseBucket(buf []byte) (pageBucket, error) {
	var b pageBucket
	err := fields(buf, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			b.clientID = string(v)
		case num == 2 && typ == protowire.VarintType:
			b.action = v1.BucketAction(n)
		case num == 3 && typ == protowire.BytesType:
			id, err := recordID(v)
			if err != nil {
				return err
			}
			b.records = append(b.records, pageRecord{id: id, raw: v})
		}
		return nil
	})
	return b, err
}

// recordID reads a RecordState's record_id (field 1).
func recordID(buf []byte) (string, error) {
	var id string
	err := fields(buf, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == 1 && typ == protowire.BytesType {
			id = string(v)
		}
		return nil
	})
	if err == nil && id == "" {
		err = fmt.Errorf("%w: a record without an id", errMalformed)
	}
	return id, err
}

// fields calls fn for each field of an encoded message: v holds a
// length-delimited field's bytes, n a varint's value. Fixed-width fields are
// skipped (the envelope has none).
func fields(buf []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(buf) > 0 {
		num, typ, tl := protowire.ConsumeTag(buf)
		if tl < 0 {
			return errMalformed
		}
		buf = buf[tl:]
		var (
			v  []byte
			n  uint64
			vl int
		)
		switch typ {
		case protowire.BytesType:
			v, vl = protowire.ConsumeBytes(buf)
		case protowire.VarintType:
			n, vl = protowire.ConsumeVarint(buf)
		default:
			vl = protowire.ConsumeFieldValue(num, typ, buf)
		}
		if vl < 0 {
			return errMalformed
		}
		buf = buf[vl:]
		if err := fn(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}

// rawCodec is the protobuf codec with one addition: a *rawResponse keeps
// the message's bytes instead of being decoded.
type rawCodec struct{}

type rawResponse struct{ buf []byte }

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(m any) ([]byte, error) {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("caseload: cannot encode %T", m)
	}
	return proto.Marshal(pm)
}

func (rawCodec) Unmarshal(b []byte, m any) error {
	switch m := m.(type) {
	case *rawResponse:
		m.buf = append([]byte(nil), b...) // b belongs to a pool
		return nil
	case proto.Message:
		return proto.Unmarshal(b, m)
	}
	return fmt.Errorf("caseload: cannot decode into %T", m)
}
