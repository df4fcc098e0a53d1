package api_test

import (
	"testing"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
)

// TestMain stops the PostgreSQL cluster the benchmarks on both stores
// start (pgtest.Shared), once they are done.
func TestMain(m *testing.M) { pgtest.Main(m) }
