package api

import (
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/review"
)

// Export file names give the UK day-month-year of the first and the last
// day the period includes, whether the console sent GMT or BST midnights.
func TestExportFilename(t *testing.T) {
	bst := time.FixedZone("BST", 3600)
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     string
	}{
		{"none", time.Time{}, time.Time{}, "throughcare-statistics.csv"},
		{"GMT midnights", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC),
			"throughcare-statistics-from-01-03-2026-to-15-03-2026.csv"},
		{"BST midnights", time.Date(2026, 6, 1, 0, 0, 0, 0, bst), time.Date(2026, 7, 1, 0, 0, 0, 0, bst),
			"throughcare-statistics-from-01-06-2026-to-30-06-2026.csv"},
	} {
		if got := exportFilename("statistics", review.ExportQuery{From: tc.from, To: tc.to}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
