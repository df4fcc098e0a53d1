package main

import (
	"testing"
	"time"
)

func TestIngestSecondsCoverTheNextTenth(t *testing.T) {
	for _, tt := range []struct {
		elapsed time.Duration
		want    int
	}{
		{0, 1},
		{time.Second, 1},
		{8 * time.Second, 1},
		{8*time.Second + time.Millisecond, 2},
		{80 * time.Second, 10},
	} {
		if got := ingestSeconds(tt.elapsed); got != tt.want {
			t.Errorf("ingestSeconds(%s) = %d, want %d", tt.elapsed, got, tt.want)
		}
	}
}
