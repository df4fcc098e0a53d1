package review

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// BenchmarkParseContact: reading one stored contact the way a statistics
// scan does (split the record, read its timestamp and strings), without
// the store.
func BenchmarkParseContact(b *testing.B) {
	str := func(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_StringValue{StringValue: s}} }
	st := &v1.RecordState{RecordId: "0193b5a0-0000-7000-8000-000000000002", RecordType: "contact", Position: 12,
		Stamp: &v1.Stamp{Time: 1 << 40, Replica: "0193b5a0-0000-7000-8000-000000000009"}, Author: &v1.Author{UserId: "u1", DeviceId: "d1"},
		Fields: []*v1.FieldState{
			{Field: "author", Value: str("u1")}, {Field: "category", Value: str("housing")}, {Field: "mode", Value: str("phone")},
			{Field: "housing_status_after", Value: str("hostel")}, {Field: "notes", Value: str("Spoke about the tenancy offer and the deposit.")},
			{Field: "occurred_at", Value: &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: timestamppb.New(time.Unix(1.7e9, 0))}}},
		}}
	buf, err := proto.Marshal(st)
	if err != nil {
		b.Fatal(err)
	}
	var r rec
	b.ReportAllocs()
	for b.Loop() {
		if err := r.parse(buf); err != nil {
			b.Fatal(err)
		}
		if _, ok := r.when("occurred_at"); !ok || r.str("category") == nil || r.str("housing_status_after") == nil || r.str("author") == nil {
			b.Fatal("fields missing")
		}
		_ = r.stampTime(r.get("category"))
	}
}
