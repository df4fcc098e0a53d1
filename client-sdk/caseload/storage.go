package caseload

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/throughcare/throughcare/internal/diskspace"
)

// DefaultMinFreeBytes is the default Config.MinFreeBytes: writes are
// refused while less than this is free on the tablet's storage.
const DefaultMinFreeBytes = 64 << 20

// ErrStorageFull: the tablet's storage is nearly full (less free than
// Config.MinFreeBytes), or the store could not write for want of space.
// The write was refused whole and nothing already saved is lost; reads
// keep working, and writes work again as soon as space is freed (no
// restart needed). Status.StorageFull says so meanwhile.
var ErrStorageFull = errors.New("caseload: the tablet's storage is nearly full")

// newMeter returns the free-space meter of cfg.Dir's filesystem, or nil
// for an in-memory device (which never reports full).
func newMeter(cfg Config) *diskspace.Meter {
	if cfg.InMemory {
		return nil
	}
	probe := cfg.freeSpace
	if probe == nil {
		probe = diskspace.Statfs(cfg.Dir)
	}
	minFree := cfg.MinFreeBytes
	if minFree == 0 {
		minFree = DefaultMinFreeBytes
	}
	return diskspace.NewMeter(probe, minFree, 0, cfg.Now)
}

// checkRoom returns ErrStorageFull while the storage is nearly full, and
// keeps Status.StorageFull current. The measurement is cached briefly
// (diskspace.DefaultInterval on Config.Now), so asking before every write
// is cheap. d.mu is held.
func (d *Device) checkRoom() error {
	if d.disk == nil {
		return nil
	}
	r := d.disk.Read()
	d.setStorageFull(r.Full)
	if r.Full {
		return fmt.Errorf("%w (%d MiB free, %d MiB required): free some space and try again; what is saved is kept",
			ErrStorageFull, r.Free>>20, (d.disk.MinFree()+1<<20-1)>>20)
	}
	return nil
}

// storageErr turns a store error caused by a full disk (ENOSPC) into
// ErrStorageFull, marking the status; other errors pass unchanged. d.mu is
// held.
func (d *Device) storageErr(err error) error {
	if err == nil || errors.Is(err, ErrStorageFull) || !isNoSpace(err) {
		return err
	}
	d.setStorageFull(true)
	return fmt.Errorf("%w: %w", ErrStorageFull, err)
}

// isNoSpace reports whether err was caused by a full disk. Badger flattens
// many of the errors it wraps (y.Wrap formats them with %+v), so the cause
// is also recognised by its text.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), syscall.ENOSPC.Error())
}

// setStorageFull sets Status.StorageFull, announcing a change. d.mu is
// held.
func (d *Device) setStorageFull(full bool) {
	if d.status.StorageFull != full {
		d.status.StorageFull = full
		d.events.emit(Event{Kind: StatusChanged})
	}
}

// roomToPull is checkRoom for storing pulled pages (Sync's pull, Run's
// live pages), which take d.mu themselves. A page not stored is pulled
// again, from the cursor of the last page stored, once space is freed.
func (d *Device) roomToPull() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.checkRoom()
}

// pulledErr is storageErr for a pull's error.
func (d *Device) pulledErr(err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.storageErr(err)
}
