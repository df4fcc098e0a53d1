package wire

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// keptPage is a Raw that keeps a copy of what it is handed.
type keptPage struct {
	buf []byte
	err error // what UnmarshalRaw says
}

func (p *keptPage) UnmarshalRaw(b []byte) error {
	p.buf = append([]byte(nil), b...)
	return p.err
}

var errKept = errors.New("the page refused")

// A Raw gets the body as it came, byte for byte (even one a decode and a
// re-encode would change: fields out of order, an unknown field), and its
// error is the codec's; any other proto.Message is decoded.
func TestCodecUnmarshal(t *testing.T) {
	page := mustMarshal(t, &v1.PullResponse{Cursor: []byte("cur"), HasMore: true, Buckets: []*v1.BucketUpdate{
		{ClientId: "c1", Records: []*v1.RecordState{{RecordId: "r1", RecordType: "contact"}}},
	}})
	reordered := protowire.AppendVarint(protowire.AppendTag(nil, PullResponse.HasMore, protowire.VarintType), 1)
	reordered = protowire.AppendBytes(protowire.AppendTag(reordered, 99, protowire.BytesType), []byte("unknown"))
	reordered = protowire.AppendBytes(protowire.AppendTag(reordered, PullResponse.Cursor, protowire.BytesType), []byte("cur"))
	req := &v1.PullRequest{ProtocolVersion: 1, SchemaVersion: 7, Cursor: []byte("from"), Limit: 50}

	tests := []struct {
		name    string
		body    []byte
		into    any
		wantErr error // nil: no error; errAny: some error
		want    func(t *testing.T, into any)
	}{
		{name: "a page stays as it came", body: page, into: &keptPage{}, want: keptIs(page)},
		{name: "reordered, unknown field", body: reordered, into: &keptPage{}, want: keptIs(reordered)},
		{name: "a malformed page is the Raw's to judge", body: []byte{0x0a, 0x05, 0x01}, into: &keptPage{}, want: keptIs([]byte{0x0a, 0x05, 0x01})},
		{name: "the Raw's error", body: page, into: &keptPage{err: errKept}, wantErr: errKept},
		{name: "a message is decoded", body: mustMarshal(t, req), into: &v1.PullRequest{}, want: func(t *testing.T, into any) {
			if !proto.Equal(into.(*v1.PullRequest), req) {
				t.Errorf("decoded %v, want %v", into, req)
			}
		}},
		{name: "a malformed message", body: []byte{0x1a, 0x05, 0x01}, into: &v1.PullRequest{}, wantErr: errAny},
		{name: "not a message", body: page, into: &struct{}{}, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Codec{}.Unmarshal(tt.body, tt.into)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Unmarshal: %v, want no error", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Unmarshal: %v, want %v", err, tt.wantErr)
			}
			if tt.want != nil {
				tt.want(t, tt.into)
			}
		})
	}
}

var errAny = errors.New("any error")

func keptIs(want []byte) func(t *testing.T, into any) {
	return func(t *testing.T, into any) {
		if got := into.(*keptPage).buf; !bytes.Equal(got, want) {
			t.Errorf("the page got %x, want %x", got, want)
		}
	}
}

// Marshal encodes a message as proto does (a request round-trips through
// the codec) and refuses what is not one; the name is Connect's protobuf
// codec's, so the content type stays application/proto.
func TestCodecMarshal(t *testing.T) {
	req := &v1.PullRequest{ProtocolVersion: 1, SchemaVersion: 7, Cursor: []byte("from"), Limit: 50}
	b, err := Codec{}.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var got v1.PullRequest
	if err := (Codec{}).Unmarshal(b, &got); err != nil || !proto.Equal(&got, req) {
		t.Errorf("round trip = %v, %v; want %v", &got, err, req)
	}
	if _, err := (Codec{}).Marshal(&keptPage{}); err == nil {
		t.Error("Marshal of a non-message: no error")
	}
	if got, want := (Codec{}).Name(), "proto"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
}
