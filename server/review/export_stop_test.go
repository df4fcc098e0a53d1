package review

import (
	"context"
	"errors"
	"testing"

	"github.com/throughcare/throughcare/server/identity"
)

// An export stops before its next row once the session ends, the caseload
// changes or the caller goes away, and is audited incomplete.
func TestExportStopsWhenTheCallerGoes(t *testing.T) {
	w := newQueueWorld(t)
	exports := map[string]func(context.Context, *identity.Identity, Sink) error{
		"contacts": func(ctx context.Context, id *identity.Identity, s Sink) error {
			_, err := w.svc.ExportContacts(ctx, id, ExportQuery{From: at(1, 0), To: at(16, 0)}, s)
			return err
		},
		"statistics": func(ctx context.Context, id *identity.Identity, s Sink) error {
			_, err := w.svc.ExportStatistics(ctx, id, ExportQuery{From: at(1, 0), To: at(16, 0)}, s)
			return err
		},
	}
	for _, tc := range []struct {
		name string
		end  func(ended, changed chan struct{}, cancel context.CancelFunc)
		want error
	}{
		{"session_ended", func(ended, _ chan struct{}, _ context.CancelFunc) { close(ended) }, identity.ErrSessionEnded},
		{"caseload_changed", func(_, changed chan struct{}, _ context.CancelFunc) { close(changed) }, identity.ErrCaseloadChanged},
		{"caller_gone", func(_, _ chan struct{}, cancel context.CancelFunc) { cancel() }, context.Canceled},
	} {
		for kind, export := range exports {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				ended, changed := make(chan struct{}), make(chan struct{})
				id := *w.supA1
				id.Ended, id.Changed = ended, changed
				ctx, cancel := context.WithCancel(w.ctx)
				defer cancel()
				rows := 0
				err := export(ctx, &id, RowFunc(func([]string) error {
					if rows++; rows == 1 {
						tc.end(ended, changed, cancel)
					}
					return nil
				}))
				if rows != 1 || !errors.Is(err, tc.want) {
					t.Fatalf("export gave %d rows and %v, want 1 row and %v", rows, err, tc.want)
				}
			})
		}
	}
}
