package admin

import (
	"testing"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
)

// TestMain stops the PostgreSQL cluster BenchmarkListClients starts
// (pgtest.Shared).
func TestMain(m *testing.M) { pgtest.Main(m) }
