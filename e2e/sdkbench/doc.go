// Package sdkbench measures the Go SDK against the real server running in
// the same process (built without the race detector, unlike the e2e
// binaries): a fresh tablet's first sync of a large caseload into its
// encrypted local store, and a typical reconnect. It holds benchmarks only.
package sdkbench
