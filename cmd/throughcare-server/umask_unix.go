//go:build unix

package main

import "syscall"

// ownerOnlyModes says file modes protect the data directory here, so
// privateDataDir checks and tightens them.
const ownerOnlyModes = true

// restrictUmask adds 077 to the process's umask, so everything the server
// creates is its user's only (files 0600, directories 0700) whatever mode
// the code creating it asks for: Badger asks 0666 for its value logs,
// tables and lock file. The umask is process-wide and is never put back,
// since servers running side by side in one process (tests) all want it.
func restrictUmask() { syscall.Umask(syscall.Umask(0o077) | 0o077) }
