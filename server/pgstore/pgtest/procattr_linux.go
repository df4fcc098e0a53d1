package pgtest

import "syscall"

// procAttr runs a PostgreSQL program as owner (nil: as the test's user),
// killed if the test binary dies first. Go sets the parent-death signal
// after dropping to owner's ids, so the change of user does not clear it.
func procAttr(owner *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: owner, Pdeathsig: syscall.SIGQUIT}
}
