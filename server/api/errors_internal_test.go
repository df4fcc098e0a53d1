package api

import (
	"context"
	"errors"
	"testing"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A sequence reset reaches the device as FAILED_PRECONDITION with a
// ResetRequired detail carrying the high-water mark, and a SequenceMismatch
// beside it for SDKs that predate the reset.
func TestSequenceResetMapsToResetRequiredWithHighWater(t *testing.T) {
	err := connectError(context.Background(), &syncengine.ResetError{Reason: v1.ResetReason_RESET_REASON_SEQUENCE_AHEAD, HighWater: 7, Got: 12})
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeFailedPrecondition {
		t.Fatalf("connectError = %v, want FAILED_PRECONDITION", err)
	}
	var reset *v1.ResetRequired
	var mismatch *v1.SequenceMismatch
	for _, d := range cerr.Details() {
		m, err := d.Value()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *v1.ResetRequired:
			reset = m
		case *v1.SequenceMismatch:
			mismatch = m
		}
	}
	if reset.GetReason() != v1.ResetReason_RESET_REASON_SEQUENCE_AHEAD || reset.GetHighWater() != 7 {
		t.Errorf("ResetRequired = %v, want SEQUENCE_AHEAD at high water 7", reset)
	}
	if mismatch.GetHighWater() != 7 {
		t.Errorf("SequenceMismatch = %v, want high water 7", mismatch)
	}
}
