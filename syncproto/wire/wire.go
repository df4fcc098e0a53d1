// Package wire reads the sync messages' protobuf encoding directly, for the
// hot paths that must not decode them: the server's pre-encoded pull
// pages, the review's scans of stored records, the store's history scans
// and the SDK's raw pull pages. It owns the field numbers those paths use,
// taken from the generated descriptors (so a renumbered field moves with
// them and a renamed one fails at start-up), Each, which walks a
// message's fields without copying or allocating, and Codec, the one
// pass-through codec with which a client receives a message (a pull page)
// still encoded.
package wire

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Number is a field number.
type Number = protowire.Number

// number returns the number of m's field name, or panics (at start-up)
// if m has no such field.
func number(m proto.Message, name protoreflect.Name) Number {
	f := m.ProtoReflect().Descriptor().Fields().ByName(name)
	if f == nil {
		panic(fmt.Sprintf("wire: %s has no field %s", m.ProtoReflect().Descriptor().FullName(), name))
	}
	return f.Number()
}

// The field numbers of the messages read here, by message.
var (
	PullResponse = struct{ Buckets, Cursor, HasMore, ServerTime Number }{
		Buckets:    number(&v1.PullResponse{}, "buckets"),
		Cursor:     number(&v1.PullResponse{}, "cursor"),
		HasMore:    number(&v1.PullResponse{}, "has_more"),
		ServerTime: number(&v1.PullResponse{}, "server_time"),
	}
	BucketUpdate = struct{ ClientID, Action, Records Number }{
		ClientID: number(&v1.BucketUpdate{}, "client_id"),
		Action:   number(&v1.BucketUpdate{}, "action"),
		Records:  number(&v1.BucketUpdate{}, "records"),
	}
	RecordState = struct{ RecordID, RecordType, Stamp, Author, Fields, Conflicts, Position Number }{
		RecordID:   number(&v1.RecordState{}, "record_id"),
		RecordType: number(&v1.RecordState{}, "record_type"),
		Stamp:      number(&v1.RecordState{}, "stamp"),
		Author:     number(&v1.RecordState{}, "author"),
		Fields:     number(&v1.RecordState{}, "fields"),
		Conflicts:  number(&v1.RecordState{}, "conflicts"),
		Position:   number(&v1.RecordState{}, "position"),
	}
	FieldState = struct{ Field, Value, Stamp Number }{
		Field: number(&v1.FieldState{}, "field"),
		Value: number(&v1.FieldState{}, "value"),
		Stamp: number(&v1.FieldState{}, "stamp"),
	}
	Value = struct{ StringValue, TimestampValue, DateValue Number }{
		StringValue:    number(&v1.Value{}, "string_value"),
		TimestampValue: number(&v1.Value{}, "timestamp_value"),
		DateValue:      number(&v1.Value{}, "date_value"),
	}
	Date = struct{ Year, Month, Day Number }{
		Year:  number(&v1.Date{}, "year"),
		Month: number(&v1.Date{}, "month"),
		Day:   number(&v1.Date{}, "day"),
	}
	Stamp = struct{ Time Number }{
		Time: number(&v1.Stamp{}, "time"),
	}
	Author = struct{ UserID Number }{
		UserID: number(&v1.Author{}, "user_id"),
	}
	HistoryEntry = struct{ RecordID, Late Number }{
		RecordID: number(&v1.HistoryEntry{}, "record_id"),
		Late:     number(&v1.HistoryEntry{}, "late"),
	}
	PushRequest = struct{ Changes Number }{
		Changes: number(&v1.PushRequest{}, "changes"),
	}
	Timestamp = struct{ Seconds, Nanos Number }{
		Seconds: number(&timestamppb.Timestamp{}, "seconds"),
		Nanos:   number(&timestamppb.Timestamp{}, "nanos"),
	}
)
