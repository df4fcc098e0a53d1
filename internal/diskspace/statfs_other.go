//go:build !(linux || darwin)

package diskspace

import "errors"

// Statfs returns a probe that always fails on this platform: free space
// cannot be measured, so a meter never reports the disk full.
func Statfs(dir string) Probe {
	return func() (uint64, error) {
		return 0, errors.New("diskspace: measuring free space is not supported on this platform")
	}
}
