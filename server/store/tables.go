package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/dgraph-io/ristretto/v2/z"
	"google.golang.org/protobuf/proto"
)

// readManifest replays the MANIFEST at path without changing it (Badger
// truncates a torn end when it opens it itself).
func readManifest(path string) (badger.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return badger.Manifest{}, err
	}
	defer func() { _ = f.Close() }() // opened read-only: closing it loses nothing
	m, _, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions("").WithLogger(nil))
	return m, err
}

// verifyTable reads the table (.sst) file at path through and checks every
// checksum in it, and returns the highest version it holds.
//
// Badger checks tables as it opens them, but a damaged one makes it panic
// in a goroutine of its own (a block that fails its checksum is
// dereferenced in table.VerifyChecksum) or exit through log.Fatalf (an
// index read out of bounds in table.initIndex), neither of which its
// caller can recover from. So the footer and index are checked here first,
// the way initIndex reads them, and the blocks then by Badger's own code
// in this goroutine, recovering its panics.
//
// dk is the data key the table is encrypted with (nil if it is not); an
// encrypted table's index is decrypted into cache, which Badger needs for
// one.
func verifyTable(path string, compression options.CompressionType, dk *pb.DataKey, cache *ristretto.Cache[uint64, *fb.TableIndex]) (maxVersion uint64, err error) {
	if err := checkTableIndex(path); err != nil {
		return 0, err
	}
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = errors.Join(fmt.Errorf("reading it failed: %v", r), mf.Close(-1))
		}
	}()
	t, err := table.OpenTable(mf, table.Options{
		ReadOnly: true, ChkMode: options.OnTableRead, BlockSize: badgerBlockSize, Compression: compression,
		DataKey: dk, IndexCache: cache,
	})
	if err != nil {
		return 0, err
	}
	maxVersion = t.MaxVersion()
	return maxVersion, mf.Close(-1)
}

// badgerBlockSize is Badger's default table block size, which the store
// uses.
const badgerBlockSize = 4 << 10

// checkTableIndex checks a table file's footer and the checksum of its
// index. The file ends with the index, its length (4 bytes), the index's
// checksum (a pb.Checksum) and that checksum's length (4 bytes).
func checkTableIndex(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // opened read-only: closing it loses nothing
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	u32at := func(off int64) (int64, error) {
		var b [4]byte
		if off < 0 || off+4 > size {
			return 0, errors.New("its footer points outside the file")
		}
		if _, err := f.ReadAt(b[:], off); err != nil {
			return 0, err
		}
		return int64(binary.BigEndian.Uint32(b[:])), nil
	}
	bytesAt := func(off, n int64) ([]byte, error) {
		if off < 0 || n < 0 || off+n > size {
			return nil, errors.New("its footer points outside the file")
		}
		b := make([]byte, n)
		_, err := f.ReadAt(b, off)
		return b, err
	}
	chkLen, err := u32at(size - 4)
	if err != nil {
		return err
	}
	raw, err := bytesAt(size-4-chkLen, chkLen)
	if err != nil {
		return err
	}
	var chk pb.Checksum
	if err := proto.Unmarshal(raw, &chk); err != nil {
		return fmt.Errorf("its index checksum does not decode: %w", err)
	}
	indexLen, err := u32at(size - 8 - chkLen)
	if err != nil {
		return err
	}
	index, err := bytesAt(size-8-chkLen-indexLen, indexLen)
	if err != nil {
		return err
	}
	if err := y.VerifyChecksum(index, &chk); err != nil {
		return fmt.Errorf("its index fails its checksum: %w", err)
	}
	return nil
}

// newIndexCache is a small cache for the decrypted indexes of the tables
// verifyTable reads (nil, none needed, if the store is not encrypted).
func newIndexCache(encrypted bool) (*ristretto.Cache[uint64, *fb.TableIndex], error) {
	if !encrypted {
		return nil, nil
	}
	return ristretto.NewCache(&ristretto.Config[uint64, *fb.TableIndex]{NumCounters: 1000, MaxCost: 4 << 20, BufferItems: 64})
}
