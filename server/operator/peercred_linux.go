package operator

import (
	"net"
	"syscall"
)

// peerUID is the user id of the process at the other end of conn, from the
// kernel (SO_PEERCRED); -1 if it cannot be read, which the policy refuses.
func peerUID(conn net.Conn, _ int) int {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return -1
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1
	}
	uid := -1
	_ = raw.Control(func(fd uintptr) {
		if cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED); err == nil {
			uid = int(cred.Uid)
		}
	})
	return uid
}
