package api_test

import (
	"testing"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
)

// TestMain stops the PostgreSQL cluster that the benchmarks on both stores
// and the access matrix's PostgreSQL run start (pgtest.Shared).
func TestMain(m *testing.M) { pgtest.Main(m) }
