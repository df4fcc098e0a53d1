//go:build !linux

package operator

import "net"

// peerUID: where the kernel does not say who is at the other end, the
// socket's mode (0600, in the 0700 data directory) is the check, and
// whoever got through it counts as the server's user.
func peerUID(_ net.Conn, self int) int { return self }
