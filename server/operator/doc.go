// Package operator owns the local operator channel: a Unix socket in the
// data directory (SocketName), served by the running server, through which
// an operator on the server's machine mints an admin invite for an area by
// name, creating the area if it is new. That is how a second area gets its
// first admin, and how an area whose admins are all lost gets a new one,
// without stopping the server (a Badger store admits one process, so
// nothing else may open the data directory while the server runs).
//
// Who may use it is the access policy's (access.Operator): the socket is
// 0600 in the 0700 data directory, so only the server's own user and root
// can reach it, and each connection's peer credentials are checked again
// where the kernel gives them (Linux: SO_PEERCRED). It grants that one
// action and nothing else: no reads, no other writes.
//
// The protocol is HTTP/1.1 over the socket with JSON bodies, so it can be
// driven by hand (curl --unix-socket) as well as by MintAdminInvite:
//
//	POST /admin-invite {"area":"Southwark"}
//	200 {"area":"Southwark","code":"tci_…","expires_at":"2026-12-14T…Z"}
//	4xx/5xx {"error":"…"}
//
// Listen creates the socket when the server starts (replacing a stale one
// a crashed server left), Close removes it when it stops.
package operator
