package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/backup"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// cmdBackup streams a backup of the live server into a new file. The
// server seals it with its store key; this only writes the bytes, into a
// temporary file beside FILE that is synced and then linked into place, so
// FILE is never a partial backup, and is never overwritten.
func cmdBackup(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	out := fs.String("out", "", "the new backup file (refused if it exists)")
	since := fs.Uint64("since", 0, "take an incremental backup from this store version (the until of the backup before, plus one)")
	sinceFile := fs.String("since-file", "", "take an incremental backup that follows this earlier backup file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 || (*since > 0 && *sinceFile != "") {
		return errors.New("usage: throughcare backup --out FILE [--since VERSION | --since-file PREV]")
	}
	if err := c.signedIn(); err != nil {
		return err
	}
	if *sinceFile != "" {
		prev, err := backup.Describe(*sinceFile)
		if err != nil {
			return fmt.Errorf("--since-file: %w", err)
		}
		*since = prev.Until + 1
	}
	if _, err := os.Lstat(*out); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s exists: a backup never overwrites a file", *out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".partial-*")
	if err != nil {
		return err
	}
	// Closed by sealFile on success; gone once linked (or on failure).
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()
	sum, err := c.streamBackup(ctx, *since, tmp)
	if err != nil {
		return err
	}
	if err := sealFile(tmp, sum); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), *out); err != nil {
		return fmt.Errorf("placing the backup: %w", err)
	}
	if err := syncDir(filepath.Dir(*out)); err != nil {
		return err
	}
	kind := "full"
	if sum.GetSince() > 0 {
		kind = fmt.Sprintf("incremental from version %d", sum.GetSince())
	}
	fmt.Fprintf(c.out, "backup %s: %s, store %s, up to version %d (next: --since %d), %d records, %d bytes, key %s, sha256 %x\n",
		*out, kind, sum.GetStoreId(), sum.GetUntil(), sum.GetUntil()+1, sum.GetRecords(), sum.GetBytes(), sum.GetKeyFingerprint(), sum.GetSha256())
	return nil
}

// streamBackup writes the server's backup stream to w, with progress on
// stderr, and returns its summary.
func (c *cli) streamBackup(ctx context.Context, since uint64, w io.Writer) (*v1.BackupSummary, error) {
	// No overall timeout: a backup takes as long as the store is big.
	admin := throughcarev1connect.NewAdminServiceClient(&http.Client{Transport: c.http.Transport}, c.server, connect.WithInterceptors(c.dev.Interceptor()))
	stream, err := admin.StreamBackup(ctx, &v1.StreamBackupRequest{Since: since})
	if err != nil {
		return nil, err
	}
	defer func() { _ = stream.Close() }() // the stream has ended or failed already
	var sum *v1.BackupSummary
	progress := backupProgress{w: c.errOut}
	for stream.Receive() {
		m := stream.Msg()
		if _, err := w.Write(m.GetData()); err != nil {
			return nil, err
		}
		progress.show(m.GetBytesSent(), m.GetRecords())
		if m.GetSummary() != nil {
			sum = m.GetSummary()
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	if sum == nil {
		return nil, errors.New("the backup stream ended without its summary: the backup is incomplete")
	}
	return sum, nil
}

// backupProgress writes a progress line each time the stream has moved on:
// the closing message repeats the last data message's counts, and saying the
// same line twice reads as a stall.
type backupProgress struct {
	w              io.Writer
	bytes, records uint64
	shown          bool
}

func (p *backupProgress) show(bytes, records uint64) {
	if p.shown && bytes == p.bytes && records == p.records {
		return
	}
	p.bytes, p.records, p.shown = bytes, records, true
	fmt.Fprintf(p.w, "backup: %.1f MiB, %d records\n", float64(bytes)/(1<<20), records)
}

// sealFile checks the written file against the summary (its framing and
// checksum: the key stays on the server) and syncs it to disk.
func sealFile(f *os.File, sum *v1.BackupSummary) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	info, err := backup.Scan(f)
	if err != nil {
		return fmt.Errorf("the received backup does not check: %w", err)
	}
	if info.Until != sum.GetUntil() || info.Records != sum.GetRecords() || !bytes.Equal(info.Sum[:], sum.GetSha256()) {
		return errors.New("the received backup differs from what the server says it sent")
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }() // read only: Sync is what matters
	return d.Sync()
}
