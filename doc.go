// Package throughcare is the root of the Throughcare module. It holds no
// code of its own, only the tests that guard the repository's layout (every
// package documented; the shared protocol code never depends on the server).
// The product lives in syncproto (wire contract and merge rules), server and
// cmd; see README.md.
package throughcare
