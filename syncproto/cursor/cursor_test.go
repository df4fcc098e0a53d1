package cursor

import (
	"bytes"
	"errors"
	"maps"
	"testing"
)

var key = bytes.Repeat([]byte{7}, 32)

func mustCodec(t testing.TB, k []byte) *Codec {
	t.Helper()
	c, err := NewCodec(k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	c := mustCodec(t, key)
	want := Cursor{Schema: 3, Positions: map[string]uint64{
		"0193b5a0-0000-7000-8000-000000000001": 0,
		"0193b5a0-0000-7000-8000-000000000002": 1 << 40,
		"00000000-0000-0000-0000-000000000000": 17,
	}}
	got, err := c.Decode("user-1", c.Encode("user-1", want))
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != want.Schema || !maps.Equal(got.Positions, want.Positions) {
		t.Fatalf("Decode(Encode(%v)) = %v", want, got)
	}
}

func TestEmptyCursorIsFirstSync(t *testing.T) {
	got, err := mustCodec(t, key).Decode("u", nil)
	if err != nil || len(got.Positions) != 0 {
		t.Fatalf("Decode(nil) = %v, %v; want empty cursor", got, err)
	}
}

func TestRejectsCursorsThatAreNotOurs(t *testing.T) {
	c := mustCodec(t, key)
	good := c.Encode("user-1", Cursor{Schema: 1, Positions: map[string]uint64{"0193b5a0-0000-7000-8000-000000000001": 5}})
	flipped := bytes.Clone(good)
	flipped[3] ^= 1
	other := mustCodec(t, bytes.Repeat([]byte{8}, 32)).Encode("user-1", Cursor{Schema: 1})
	cases := map[string]struct {
		subject string
		b       []byte
	}{
		"other_server": {"user-1", other},
		"other_user":   {"user-2", good},
		"bit_flipped":  {"user-1", flipped},
		"truncated":    {"user-1", good[:len(good)-1]},
		"garbage":      {"user-1", []byte("definitely not a cursor")},
		"one_byte":     {"user-1", []byte{1}},
		"extended":     {"user-1", append(bytes.Clone(good), 0)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := c.Decode(tc.subject, tc.b); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode() = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := NewCodec([]byte("short")); err == nil {
		t.Fatal("NewCodec accepted a 5-byte key")
	}
}

// FuzzDecode checks that arbitrary input never panics and that anything that
// decodes re-encodes to the same bytes (so the MAC really covers it all).
func FuzzDecode(f *testing.F) {
	c := mustCodec(f, key)
	f.Add(c.Encode("u", Cursor{Schema: 1, Positions: map[string]uint64{"0193b5a0-0000-7000-8000-000000000001": 9}}))
	f.Add([]byte{})
	f.Add([]byte{1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := c.Decode("u", b)
		if err != nil {
			return
		}
		if len(b) == 0 {
			return
		}
		if re := c.Encode("u", got); !bytes.Equal(re, b) {
			t.Fatalf("decoded cursor re-encodes differently:\n in  %x\n out %x", b, re)
		}
	})
}
