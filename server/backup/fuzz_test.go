package backup_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/throughcare/throughcare/server/backup"
)

// FuzzReader feeds arbitrary bytes to the reader: it never panics, never
// hangs, and whatever it accepts whole is a file the writer could have
// written with that key (it reads back the same through Verify).
func FuzzReader(f *testing.F) {
	key := newKey(1)
	f.Add(writeFile(f, key, stream(100), 5))
	f.Add(writeFile(f, key, stream(backup.ChunkSize+3), 5))
	f.Add([]byte("TCBACKUP"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, file []byte) {
		_, scanErr := backup.Scan(bytes.NewReader(file))
		_, verifyErr := backup.Verify(bytes.NewReader(file), key)
		if scanErr != nil && verifyErr == nil {
			t.Fatalf("Verify took a file Scan refused: %v", scanErr)
		}
		r, err := backup.NewReader(bytes.NewReader(file), key)
		if err != nil {
			if verifyErr == nil {
				t.Fatalf("NewReader refused a verified file: %v", err)
			}
			return
		}
		_, readErr := io.Copy(io.Discard, r)
		if (readErr == nil) != (verifyErr == nil) {
			t.Fatalf("a single pass says %v, Verify says %v", readErr, verifyErr)
		}
		for _, err := range []error{scanErr, verifyErr, readErr} {
			if err != nil && backup.ProblemOf(err) == 0 {
				t.Fatalf("untyped error %v", err)
			}
		}
	})
}
