package api_test

import (
	"testing"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
)

// TestMain stops the PostgreSQL cluster the access matrix's PostgreSQL run
// starts (pgtest.Shared).
func TestMain(m *testing.M) { pgtest.Main(m) }
