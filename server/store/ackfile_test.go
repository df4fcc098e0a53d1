package store

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The record is written to its two slots in turn, so a write torn by a
// power cut spoils one slot and the other still holds the number before;
// a record with no valid slot is an error, never a zero.
func TestAckFileSurvivesATornSlot(t *testing.T) {
	dir := t.TempDir()
	a, err := createAckFile(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []uint64{6, 7} {
		if err := a.record(n); err != nil {
			t.Fatal(err)
		}
	}
	a.close()
	path := filepath.Join(dir, AckFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		spoil   []int // offsets flipped
		want    uint64
		invalid bool
	}{
		{"intact", nil, 7, false},
		{"newest slot torn", []int{ackSlotSize + 9}, 6, false}, // 6 went to slot 0, 7 to slot 1
		{"older slot torn", []int{9}, 7, false},
		{"both torn", []int{9, ackSlotSize + 9}, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := append([]byte(nil), b...)
			for _, off := range tt.spoil {
				c[off] ^= 0xff
			}
			if err := os.WriteFile(path, c, 0o600); err != nil {
				t.Fatal(err)
			}
			n, ok, err := readAckFile(dir)
			if !ok || (err != nil) != tt.invalid || (!tt.invalid && n != tt.want) {
				t.Fatalf("readAckFile = %d, %v, %v; want %d (invalid: %v)", n, ok, err, tt.want, tt.invalid)
			}
		})
	}
}

// Writers recording at once all return with the record at or above their
// number, and the record ends at the highest.
func TestAckFileConcurrentRecords(t *testing.T) {
	dir := t.TempDir()
	a, err := createAckFile(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	var wg sync.WaitGroup
	for n := uint64(1); n <= 64; n++ {
		wg.Go(func() {
			if err := a.record(n); err != nil {
				t.Error(err)
			}
			if got, _, _ := readAckFile(dir); got < n {
				t.Errorf("record(%d) returned with the file at %d", n, got)
			}
		})
	}
	wg.Wait()
	if got, _, err := readAckFile(dir); got != 64 || err != nil {
		t.Fatalf("record ends at %d (%v), want 64", got, err)
	}
}
