//go:build !windows && !plan9 && !js && !wasip1 && !aix

package store

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockDir takes the lock Badger takes on a data directory (an exclusive
// flock on the directory), so that Open inspects and moves nothing while
// another process has the store open. The caller releases it just before
// Badger takes it itself.
func lockDir(dir string) (release func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil, errors.Join(fmt.Errorf("store: cannot lock %s: another process is using the store (%w)", dir, err), f.Close())
	}
	// Closing the read-only handle releases the lock; an error closing it
	// loses nothing and the caller has nothing to do about it.
	return func() { _ = f.Close() }, nil
}
