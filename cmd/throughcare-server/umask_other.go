//go:build !unix

package main

// ownerOnlyModes is false where file modes do not protect files (Windows:
// access is by ACL, inherited from the data directory's parent).
const ownerOnlyModes = false

// restrictUmask does nothing where there is no umask.
func restrictUmask() {}
