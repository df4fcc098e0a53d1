//go:build windows || plan9 || js || wasip1 || aix

package store

// lockDir does nothing here: Badger's own lock is taken as it opens the
// directory, after Open has inspected it.
func lockDir(dir string) (release func(), err error) { return func() {}, nil }
