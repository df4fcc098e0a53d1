package wire

import (
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// page is what TestEachReadsAPage reads of a pull page.
type page struct {
	cursor, client, recID, recType, userID []byte
	hasMore, action, position, stampTime   uint64
	conflicts, fields                      int
	at                                     time.Time
}

func (p *page) read(t *testing.T, b []byte) {
	t.Helper()
	var bucket, ts []byte
	must(t, Each(b, func(num Number, typ Type, b []byte) int {
		switch num {
		case PullResponse.Cursor:
			return Bytes(typ, b, &p.cursor)
		case PullResponse.HasMore:
			return Varint(typ, b, &p.hasMore)
		case PullResponse.ServerTime:
			return Bytes(typ, b, &ts)
		case PullResponse.Buckets:
			return Bytes(typ, b, &bucket)
		}
		return 0
	}))
	s, n, err := ReadTimestamp(ts)
	must(t, err)
	p.at = time.Unix(s, int64(n)).UTC()
	var rec []byte
	must(t, Each(bucket, func(num Number, typ Type, b []byte) int {
		switch num {
		case BucketUpdate.ClientID:
			return Bytes(typ, b, &p.client)
		case BucketUpdate.Action:
			return Varint(typ, b, &p.action)
		case BucketUpdate.Records:
			return Bytes(typ, b, &rec)
		}
		return 0
	}))
	var stamp, author []byte
	must(t, Each(rec, func(num Number, typ Type, b []byte) int {
		switch num {
		case RecordState.RecordID:
			return Bytes(typ, b, &p.recID)
		case RecordState.RecordType:
			return Bytes(typ, b, &p.recType)
		case RecordState.Position:
			return Varint(typ, b, &p.position)
		case RecordState.Stamp:
			return Bytes(typ, b, &stamp)
		case RecordState.Author:
			return Bytes(typ, b, &author)
		case RecordState.Conflicts:
			p.conflicts++
		case RecordState.Fields:
			p.fields++
		}
		return 0
	}))
	must(t, Each(stamp, func(num Number, typ Type, b []byte) int {
		if num == Stamp.Time {
			return Varint(typ, b, &p.stampTime)
		}
		return 0
	}))
	must(t, Each(author, func(num Number, typ Type, b []byte) int {
		if num == Author.UserID {
			return Bytes(typ, b, &p.userID)
		}
		return 0
	}))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A page read field by field by the numbers here gives what the generated
// encoder wrote.
func TestEachReadsAPage(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)
	rec := &v1.RecordState{RecordId: "r1", RecordType: "contact", Position: 7,
		Stamp:  &v1.Stamp{Time: 42, Replica: "dev"},
		Author: &v1.Author{UserId: "u1"},
		Fields: []*v1.FieldState{
			{Field: "category", Value: &v1.Value{Kind: &v1.Value_StringValue{StringValue: "housing"}}, Stamp: &v1.Stamp{Time: 43}},
			{Field: "occurred_at", Value: &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: timestamppb.New(at)}}},
		},
		Conflicts: []*v1.Conflict{{Id: 1}, {Id: 2}}}
	b := mustMarshal(t, &v1.PullResponse{Cursor: []byte("cur"), HasMore: true, ServerTime: timestamppb.New(at), SchemaVersion: 1,
		Buckets: []*v1.BucketUpdate{{ClientId: "c", Action: v1.BucketAction_BUCKET_ACTION_SNAPSHOT, Records: []*v1.RecordState{rec}}}})
	var got page
	got.read(t, b)
	for _, c := range []struct{ name, got, want string }{
		{"cursor", string(got.cursor), "cur"},
		{"client", string(got.client), "c"},
		{"record id", string(got.recID), "r1"},
		{"record type", string(got.recType), "contact"},
		{"author", string(got.userID), "u1"},
		{"server time", got.at.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"has_more", got.hasMore, 1},
		{"action", got.action, uint64(v1.BucketAction_BUCKET_ACTION_SNAPSHOT)},
		{"position", got.position, 7},
		{"stamp time", got.stampTime, 42},
		{"conflicts", uint64(got.conflicts), 2},
		{"fields", uint64(got.fields), 2},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// Bytes and Varint read only their wire type; other fields are skipped.
func TestWireTypes(t *testing.T) {
	var b []byte
	for num := Number(1); num <= 4; num++ { // each value under each number
		b = protowire.AppendTag(b, num, protowire.VarintType)
		b = protowire.AppendVarint(b, 300)
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, []byte("xy"))
		b = protowire.AppendTag(b, num, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, 9)
	}
	var bs []byte
	var v uint64
	var seen int
	must(t, Each(b, func(num Number, typ Type, b []byte) int {
		seen++
		switch num {
		case 1:
			return Bytes(typ, b, &bs)
		case 2:
			return Varint(typ, b, &v)
		}
		return 0
	}))
	if string(bs) != "xy" || v != 300 || seen != 12 {
		t.Fatalf("read %q and %d in %d fields, want \"xy\" and 300 in 12", bs, v, seen)
	}
}

func TestMalformed(t *testing.T) {
	for _, tt := range []struct {
		name   string
		b      []byte
		fields int
	}{
		{"truncated length", []byte{0x0a, 0xff}, 1},
		{"length past the end", []byte{0x0a, 0x05, 'a'}, 1},
		{"truncated varint", []byte{0x08, 0x80}, 1},
		{"field zero", []byte{0x00, 0x01}, 0},
		{"good then bad", []byte{0x08, 0x01, 0x0a, 0xff}, 2},
	} {
		n := 0
		err := Each(tt.b, func(num Number, typ Type, b []byte) int {
			n++
			var x []byte
			var y uint64
			if m := Bytes(typ, b, &x); m != 0 {
				return m
			}
			return Varint(typ, b, &y)
		})
		if err == nil || n != tt.fields {
			t.Errorf("%s: read %d fields, err %v; want %d and an error", tt.name, n, err, tt.fields)
		}
	}
	if _, _, err := ReadTimestamp([]byte{0x08}); err == nil {
		t.Error("ReadTimestamp of a truncated timestamp: no error")
	}
}

// Reading allocates nothing: the hot paths read millions of fields.
func TestEachDoesNotAllocate(t *testing.T) {
	b := mustMarshal(t, &v1.RecordState{RecordId: "r1", RecordType: "contact", Position: 3,
		Fields: []*v1.FieldState{{Field: "category"}}, Stamp: &v1.Stamp{Time: 1}})
	var id []byte
	var pos uint64
	allocs := testing.AllocsPerRun(100, func() {
		_ = Each(b, func(num Number, typ Type, b []byte) int {
			switch num {
			case RecordState.RecordID:
				return Bytes(typ, b, &id)
			case RecordState.Position:
				return Varint(typ, b, &pos)
			}
			return 0
		})
	})
	if allocs != 0 {
		t.Fatalf("reading a record allocates %v times", allocs)
	}
}
