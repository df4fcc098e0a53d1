package review

import (
	"context"
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// brokenAudit is a store whose directory transactions cannot append audit
// entries.
type brokenAudit struct{ Store }

var errAuditDown = errors.New("audit trail unavailable")

func (b brokenAudit) Directory(ctx context.Context, fn func(tx store.DirTx) error) error {
	return b.Store.Directory(ctx, func(tx store.DirTx) error { return fn(brokenTx{tx}) })
}

type brokenTx struct{ store.DirTx }

func (brokenTx) AppendAudit(*store.Audit) error { return errAuditDown }

// If a view's or an export's audit entry cannot be written, the view is
// not served and the export sends no row.
func TestNoAuditNoData(t *testing.T) {
	w := newWorld(t)
	svc, err := New(Config{Store: brokenAudit{w.st}, Now: w.clock.Now, Logger: zerolog.Nop(), Writer: w.engine})
	if err != nil {
		t.Fatal(err)
	}
	if tl, err := svc.GetTimeline(w.ctx, w.supA1, w.c1); !errors.Is(err, errAuditDown) || tl != nil {
		t.Errorf("GetTimeline with the audit down = %v, %v; want no timeline and its error", tl, err)
	}
	if resp, err := svc.ListContacts(w.ctx, w.supA1, nil); !errors.Is(err, errAuditDown) || resp != nil {
		t.Errorf("ListContacts with the audit down = %v, %v; want nothing and its error", resp, err)
	}
	if resp, err := svc.GetCaseload(w.ctx, w.supA1, &v1.GetCaseloadRequest{}); !errors.Is(err, errAuditDown) || resp != nil {
		t.Errorf("GetCaseload with the audit down = %v, %v; want nothing and its error", resp, err)
	}
	rows := 0
	_, err = svc.ExportContacts(w.ctx, w.supA1, ExportQuery{}, RowFunc(func([]string) error { rows++; return nil }))
	if !errors.Is(err, errAuditDown) || rows != 0 {
		t.Errorf("ExportContacts with the audit down = %v after %d rows; want its error before any row", err, rows)
	}
	if got := fixture.AreaAudit(t, w.st, w.areaA); len(got) != 0 {
		t.Errorf("entries written: %+v", got)
	}
}
