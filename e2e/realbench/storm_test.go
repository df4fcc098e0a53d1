package main

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/wire"
)

func TestParseStorm(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"500,1000", []int{500, 1000}, false},
		{" 500 ", []int{500}, false},
		{"off", nil, false},
		{"", nil, false},
		{"500,x", nil, true},
		{"0", nil, true},
	}
	for _, tt := range tests {
		got, err := parseStorm(tt.in)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || (err != nil) != tt.wantErr {
			t.Errorf("parseStorm(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPprofAddress(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--pprof-listen", "127.0.0.1:6061"}, "127.0.0.1:6061"},
		{[]string{"--x", "1", "-pprof-listen=127.0.0.1:7"}, "127.0.0.1:7"},
		{[]string{"--pprof-listen"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := pprofAddress(tt.args); got != tt.want {
			t.Errorf("pprofAddress(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    float64
		want float64
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := percentile(lat, tt.p); got != tt.want {
			t.Errorf("percentile(%v) = %v ms, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of none = %v, want 0", got)
	}
}

// The load process reads a page as the SDK does: cursor, has_more and a
// count of the records in every bucket, none decoded.
func TestStormPageCountsRecords(t *testing.T) {
	rec := func(id string) *v1.RecordState { return &v1.RecordState{RecordId: id, RecordType: "contact"} }
	b, err := proto.Marshal(&v1.PullResponse{Cursor: []byte("cur"), HasMore: true, Buckets: []*v1.BucketUpdate{
		{ClientId: "c1", Records: []*v1.RecordState{rec("r1"), rec("r2")}},
		{ClientId: "c2", Records: []*v1.RecordState{rec("r3")}},
		{ClientId: "c3"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var p stormPage
	if err := (wire.Codec{}).Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if string(p.cursor) != "cur" || !p.hasMore || p.records != 3 || p.size != len(b) {
		t.Errorf("page = %+v, want cursor cur, more, 3 records, size %d", p, len(b))
	}
	if err := (wire.Codec{}).Unmarshal([]byte{0x0a, 0x05, 0x01}, &p); err == nil {
		t.Error("a cut page parsed")
	}
}
