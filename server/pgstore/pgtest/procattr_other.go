//go:build unix && !linux

package pgtest

import "syscall"

// procAttr runs a PostgreSQL program as owner (nil: as the test's user).
// Only Linux has a parent-death signal: elsewhere a killed test binary
// leaves its server running.
func procAttr(owner *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: owner}
}
