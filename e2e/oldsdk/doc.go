// Package oldsdk tests that a tablet app built from the repository as it
// stood before schema version 2 — the old client SDK itself, compiled from
// history, not the current SDK given an older schema — keeps syncing
// beside current tablets against the current server. It has no code
// outside its tests.
package oldsdk
