package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// keyStoreID holds the store's identity (16 random bytes), made when the
// first backup is taken; a restored store keeps it, so incremental backups
// are only ever restored onto backups of the same store.
var keyStoreID = []byte{tMeta, 's', 't', 'o', 'r', 'e', '-', 'i', 'd'}

// BackupResult says what a backup holds.
type BackupResult struct {
	// StoreID is the store's identity (hex).
	StoreID string
	// Since and Until bound the Badger versions the backup holds: every
	// version from Since on, up to Until. The next incremental backup
	// starts at Until+1.
	Since, Until uint64
	// Records is the number of key versions (Badger KVs) written.
	Records uint64
}

// recordCounter is told, as the stream is written, how many records (key
// versions) each part of it held. backup.Writer is one.
type recordCounter interface {
	AddRecords(n int)
}

// StoreID returns the store's identity (hex), making it on first use.
func (s *DB) StoreID(ctx context.Context) (string, error) {
	var id []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyStoreID)
		if err != nil {
			return err
		}
		id, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		id = make([]byte, 16)
		rand.Read(id)
		err = s.retry(ctx, func(txn *badger.Txn) error {
			item, err := txn.Get(keyStoreID)
			if err == nil {
				id, err = item.ValueCopy(nil)
				if err == nil {
					return errNothingWritten
				}
			}
			if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			return txn.Set(keyStoreID, id)
		})
	}
	if err != nil {
		return "", mapErr(err)
	}
	return hex.EncodeToString(id), nil
}

// backupBatchBytes bounds each record list a backup stream holds, and so
// what a backup holds in memory at once.
const backupBatchBytes = 1 << 20

// Meta bits of Badger's value log, as its backup stream and loader use them
// (value.go in badger): Load writes entries with these bits.
const (
	metaDelete                 byte = 1 << 0
	metaDiscardEarlierVersions byte = 1 << 2
)

// Backup writes Badger's backup stream of every key version from since on
// (0: the whole store) to w, from a consistent snapshot taken when it
// starts; writes go on meanwhile. If w has an AddRecords(int) method it is
// told the records of each part of the stream as it goes. The stream is
// Badger's own plaintext format (DB.Load restores it): the caller seals it
// (package backup).
//
// It is written by one iterator in lists of about a megabyte, not by
// Badger's Stream: that fills 32 MiB buffers per key range ahead of the
// writer, up to 32 of them queued, over a gigabyte on a live server whose
// backup goes out at network speed.
func (s *DB) Backup(ctx context.Context, w io.Writer, since uint64) (BackupResult, error) {
	id, err := s.StoreID(ctx)
	if err != nil {
		return BackupResult{}, err
	}
	c := &streamCounter{ctx: ctx, w: w}
	c.tell, _ = w.(recordCounter)
	until, err := s.writeBackup(ctx, c, since)
	if err != nil {
		return BackupResult{}, mapErr(err)
	}
	if c.pending() {
		return BackupResult{}, errors.New("store: backup stream ended inside a record list")
	}
	if since > 0 && until < since {
		until = since - 1 // nothing changed since
	}
	return BackupResult{StoreID: id, Since: since, Until: until, Records: c.records}, nil
}

// writeBackup writes the stream and returns the highest version it held.
func (s *DB) writeBackup(ctx context.Context, w io.Writer, since uint64) (uint64, error) {
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	opts := badger.IteratorOptions{AllVersions: true}
	if since > 0 {
		// SinceTs reads versions above it: since itself is held.
		opts.SinceTs = since - 1
	}
	it := txn.NewIterator(opts)
	defer it.Close()

	lists := kvListWriter{w: w}
	var (
		until uint64
		skip  []byte // a key whose older versions a delete or discard hides
	)
	now := uint64(time.Now().Unix())
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if skip != nil && bytes.Equal(item.Key(), skip) {
			continue
		}
		skip = nil
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		kv, hides, err := backupKV(item, now)
		if err != nil {
			return 0, err
		}
		until = max(until, kv.Version)
		lists.add(kv)
		if hides {
			skip = kv.Key
			if kv.Meta[0]&metaDiscardEarlierVersions != 0 {
				// As Badger's backup does: a delete marker just below, so a
				// restore hides the versions a compaction had not yet dropped.
				lists.add(&pb.KV{Key: kv.Key, Version: kv.Version - 1, Meta: []byte{metaDelete}})
			}
		}
		if lists.size >= backupBatchBytes {
			if err := lists.flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := lists.flush(); err != nil {
		return 0, err
	}
	// A caller gone while the last list was written has no backup.
	return until, ctx.Err()
}

// backupKV is one version of a key as Badger's backup format holds it, and
// whether it hides the key's older versions (a delete, or a version that
// discards those before it). now is the Unix time expiry is judged at.
func backupKV(item *badger.Item, now uint64) (*pb.KV, bool, error) {
	kv := &pb.KV{
		Key:       item.KeyCopy(nil),
		UserMeta:  []byte{item.UserMeta()},
		Version:   item.Version(),
		ExpiresAt: item.ExpiresAt(),
	}
	var meta byte
	deleted := item.IsDeletedOrExpired()
	expired := item.ExpiresAt() != 0 && item.ExpiresAt() <= now
	if deleted && !expired {
		// Deleted, not merely expired: an expired version keeps its
		// ExpiresAt and is as invisible restored.
		meta |= metaDelete
	}
	if !deleted {
		v, err := item.ValueCopy(nil)
		if err != nil {
			return nil, false, err
		}
		kv.Value = v
	}
	discard := !deleted && item.DiscardEarlierVersions()
	if discard {
		meta |= metaDiscardEarlierVersions
	}
	kv.Meta = []byte{meta}
	return kv, discard || deleted, nil
}

// kvListWriter gathers versions into KVLists and writes each as Badger's
// backup format frames them: a little-endian uint64 length, then the list.
type kvListWriter struct {
	w    io.Writer
	list pb.KVList
	size int
	out  []byte
}

func (l *kvListWriter) add(kv *pb.KV) {
	l.list.Kv = append(l.list.Kv, kv)
	l.size += len(kv.Key) + len(kv.Value) + 16
}

func (l *kvListWriter) flush() error {
	if len(l.list.Kv) == 0 {
		return nil
	}
	n := proto.Size(&l.list)
	l.out = binary.LittleEndian.AppendUint64(l.out[:0], uint64(n))
	var err error
	if l.out, err = (proto.MarshalOptions{}).MarshalAppend(l.out, &l.list); err != nil {
		return err
	}
	l.list.Kv, l.size = l.list.Kv[:0], 0
	_, err = l.w.Write(l.out)
	return err
}

// streamCounter passes a Badger backup stream through, counting its
// records: the stream is a sequence of lists, each a little-endian uint64
// length and a KVList (field 1: one KV per record version).
type streamCounter struct {
	ctx     context.Context
	w       io.Writer // nil: count only
	tell    recordCounter
	head    []byte // the length being read
	body    []byte // the list being read
	need    uint64
	records uint64
}

func (c *streamCounter) pending() bool { return len(c.head) > 0 || c.need > 0 }

func (c *streamCounter) Write(p []byte) (int, error) {
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
	}
	if c.w != nil {
		if n, err := c.w.Write(p); err != nil {
			return n, err
		}
	}
	return len(p), c.count(p)
}

func (c *streamCounter) count(p []byte) error {
	for len(p) > 0 {
		if c.need == 0 {
			take := min(len(p), 8-len(c.head))
			c.head = append(c.head, p[:take]...)
			p = p[take:]
			if len(c.head) < 8 {
				return nil
			}
			c.need = binary.LittleEndian.Uint64(c.head)
			c.head, c.body = c.head[:0], c.body[:0]
			if c.need == 0 {
				continue
			}
		}
		take := min(uint64(len(p)), c.need-uint64(len(c.body)))
		c.body = append(c.body, p[:take]...)
		p = p[take:]
		if uint64(len(c.body)) < c.need {
			return nil
		}
		n, err := countKVs(c.body)
		if err != nil {
			return err
		}
		c.records += uint64(n)
		if c.tell != nil {
			c.tell.AddRecords(n)
		}
		c.need, c.body = 0, c.body[:0]
	}
	return nil
}

// countKVs counts the KVs (field 1) of an encoded KVList.
func countKVs(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0, fmt.Errorf("store: backup stream: %w", protowire.ParseError(l))
		}
		b = b[l:]
		l = protowire.ConsumeFieldValue(num, typ, b)
		if l < 0 {
			return 0, fmt.Errorf("store: backup stream: %w", protowire.ParseError(l))
		}
		b = b[l:]
		if num == 1 {
			n++
		}
	}
	return n, nil
}

// CountRecords counts the records (key versions) of a backup stream as
// Backup wrote it.
func CountRecords(r io.Reader) (uint64, error) {
	c := &streamCounter{}
	if _, err := io.Copy(c, r); err != nil {
		return 0, err
	}
	if c.pending() {
		return 0, errors.New("store: backup stream ends inside a record list")
	}
	return c.records, nil
}
