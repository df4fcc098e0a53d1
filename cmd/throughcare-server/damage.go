package main

import (
	"errors"
	"fmt"

	"github.com/throughcare/throughcare/server/store"
)

// damaged adds to a damaged store's error (store.DamageError) what the
// operator can do about it; other errors are returned as they are.
func damaged(err error) error {
	var d *store.DamageError
	if !errors.As(err, &d) {
		return err
	}
	remedy := "restore the data directory from a backup, then start again"
	if d.Acceptable() {
		remedy += "; or, if there is no backup, start once with --accept-data-loss to go on with what is left: " +
			"what the damage lost is gone for good, the start is recorded, and every tablet resets its sync and pulls again"
	} else {
		remedy += " (--accept-data-loss cannot help here: Badger cannot open the directory, or no store would be left in it)"
	}
	return fmt.Errorf("%w\n  The server does not start on a damaged store, so as not to serve less than it acknowledged.\n  To proceed: %s", err, remedy)
}
