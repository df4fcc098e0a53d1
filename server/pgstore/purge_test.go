package pgstore_test

import (
	"testing"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store/storetest"
)

func TestPostgresPurgeConformance(t *testing.T) {
	storetest.RunPurge(t, func(t *testing.T) storetest.PurgeStore {
		return openURL(t, pgtest.Shared(t).Database(t, t.Name()))
	})
}
