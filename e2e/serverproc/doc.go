// Package serverproc runs the real server binary as a separate process for
// the tools that measure it (e2e/soak, e2e/realbench): it builds the binary
// (without the race detector), starts it on a free loopback port with a
// temporary data directory and its GC trace followed, stops it, reads a
// process's resident memory from /proc/<pid>/status, writes a series of
// readings as Markdown, and gives the HTTP/2 client, the software passkey
// and the byte-counting transport those tools talk to it with. Linux only
// (it reads /proc).
package serverproc
