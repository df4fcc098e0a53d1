package access

import "github.com/throughcare/throughcare/server/errkind"

// Operator decides who may use the local operator channel (package
// operator): the process at the other end of its socket must run as the
// server's own user (serverUID) or as root. peerUID is -1 when the kernel
// did not say, which is refused.
func Operator(peerUID, serverUID int) error {
	if peerUID >= 0 && (peerUID == serverUID || peerUID == 0) {
		return nil
	}
	return errkind.E(errkind.Forbidden, "the operator socket admits only the server's own user and root")
}
