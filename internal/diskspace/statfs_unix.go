//go:build linux || darwin

package diskspace

import "syscall"

// Statfs returns a probe of the bytes available to unprivileged users on
// the filesystem holding dir (the space the process's own user may use).
func Statfs(dir string) Probe {
	return func() (uint64, error) {
		var s syscall.Statfs_t
		if err := syscall.Statfs(dir, &s); err != nil {
			return 0, err
		}
		return uint64(s.Bavail) * uint64(s.Bsize), nil
	}
}
