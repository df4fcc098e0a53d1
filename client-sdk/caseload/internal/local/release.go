package local

// Badger reads and writes its value log through shared memory maps of
// the files, and keeps every file mapped while it exists: each page a
// sync writes stays resident in the process, counted in its RSS, though
// the kernel holds it as page cache either way. A first sync of a large
// caseload writes its records to the value log (see ValueThreshold), so
// the process's RSS would grow by the caseload's size (67 MB of a tablet's
// 135 MB at 100,000 contacts, 670 MB at a million). ReleaseMapped drops
// those pages from the process's mappings; the data stays in the files
// and the page cache, and what is read again is mapped in again.

// ReleaseMapped lets go of the value log pages the process has mapped (see
// above). Badger changes those mappings only as writes, value log garbage
// collection and Close run, so it runs only when none is: if a
// transaction, batch or sync is running it does nothing (the next call
// will). It does nothing in memory, or where the platform offers no way
// (only Linux, and so Android, does).
func (s *DB) ReleaseMapped() error {
	if s.inMemory {
		return nil
	}
	s.closing.Lock()
	defer s.closing.Unlock()
	if s.done || !s.busy.TryLock() {
		return nil
	}
	defer s.busy.Unlock()
	return releaseMapped(s.dir)
}
