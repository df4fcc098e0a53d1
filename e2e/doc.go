// Package e2e tests Throughcare end to end: its tests build the real
// binaries, start the server on a random port with a temporary data
// directory, and drive it with the CLI and plain Connect clients, as people
// and devices would. It has no code of its own outside the tests.
package e2e
