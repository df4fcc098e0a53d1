package store

import (
	"os"
	"syscall"
)

// datasync flushes f's data to disk without its timestamps (fdatasync):
// the acknowledgement record is overwritten in place, so its size never
// changes and only its data must reach the disk.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
