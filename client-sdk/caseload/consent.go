package caseload

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/throughcare/throughcare/syncproto/consent"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Consent is one consent record: to national monitoring, or to share with
// one named partner (Scope, one of schema.ConsentScopes), given on Given
// and, once withdrawn, withdrawn on Withdrawn.
type Consent struct {
	ID, ClientID string
	Scope        string
	Given        Date
	Withdrawn    Date
	Notes        string

	// Set when read: who recorded it and who recorded the withdrawal.
	Author, WithdrawnBy string
	Deleted, Pending    bool
}

// RecordConsent records a consent the client gave and returns its id; the
// author is the signed-in user. It also writes the client's older
// consent_to_share flag, derived from the client's consent as of today
// (true when consent to share with any partner is current), for tablets
// that know only the flag.
func (d *Device) RecordConsent(ctx context.Context, clientID string, c Consent, today time.Time) (string, error) {
	if err := d.onCaseload(ctx, clientID); err != nil {
		return "", err
	}
	if c.Given.IsZero() {
		return "", fmt.Errorf("caseload: %w: consent.given_on: a consent needs the day it was given", ErrInvalid)
	}
	if !c.Withdrawn.IsZero() && c.Withdrawn.Compare(c.Given) < 0 {
		return "", fmt.Errorf("caseload: %w: consent.withdrawn_on is before consent.given_on", ErrInvalid)
	}
	edits := []Edit{{"scope", String(c.Scope)}, {"given_on", DateValue(c.Given)}, {"author", String(d.UserID())}}
	if !c.Withdrawn.IsZero() {
		edits = append(edits, Edit{"withdrawn_on", DateValue(c.Withdrawn)}, Edit{"withdrawn_by", String(d.UserID())})
	}
	if c.Notes != "" {
		edits = append(edits, Edit{"notes", String(c.Notes)})
	}
	id := newID()
	c.ID = id
	return id, d.consentAction(ctx, clientID, recordEdits{"consent", clientID, id, edits}, c, today)
}

// WithdrawConsent records that the client withdrew a consent on a day.
// Like RecordConsent it rewrites the derived consent_to_share.
func (d *Device) WithdrawConsent(ctx context.Context, clientID, consentID string, on Date, today time.Time) error {
	cs, err := d.Consents(ctx, clientID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cs, func(c Consent) bool { return c.ID == consentID })
	if i < 0 || cs[i].Deleted {
		return fmt.Errorf("caseload: %w", ErrNotFound)
	}
	c := cs[i]
	c.Withdrawn = on
	if c.Withdrawn.IsZero() || c.Withdrawn.Compare(c.Given) < 0 {
		return fmt.Errorf("caseload: %w: consent.withdrawn_on is missing or before consent.given_on", ErrInvalid)
	}
	edits := []Edit{{"withdrawn_on", DateValue(c.Withdrawn)}, {"withdrawn_by", String(d.UserID())}}
	return d.consentAction(ctx, clientID, recordEdits{"consent", clientID, consentID, edits}, c, today)
}

// consentAction writes a consent record's edits and the client's derived
// consent_to_share, with c (the record as it will be) in place of its
// current version, in one user action.
func (d *Device) consentAction(ctx context.Context, clientID string, rec recordEdits, c Consent, today time.Time) error {
	cs, err := d.Consents(ctx, clientID)
	if err != nil {
		return err
	}
	cs = slices.DeleteFunc(cs, func(o Consent) bool { return o.ID == c.ID })
	share := deriveConsent(append(cs, c), today).SharesWithAnyPartner()
	return d.writeAction(ctx, rec, recordEdits{"client", clientID, clientID, []Edit{{"consent_to_share", Bool(share)}}})
}

// Consents returns a client's consent records, deleted ones too, by scope
// then the day given.
func (d *Device) Consents(ctx context.Context, clientID string) ([]Consent, error) {
	tl, err := d.Timeline(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return tl.Consents, nil
}

// ConsentState is the client's consent on today, per scope, derived from
// their consent records by the rule both the tablet and the server use
// (package syncproto/consent).
func (d *Device) ConsentState(ctx context.Context, clientID string, today time.Time) (consent.State, error) {
	cs, err := d.Consents(ctx, clientID)
	if err != nil {
		return consent.State{}, err
	}
	return deriveConsent(cs, today), nil
}

func deriveConsent(cs []Consent, today time.Time) consent.State {
	recs := make([]consent.Record, len(cs))
	for i, c := range cs {
		recs[i] = consent.Record{ID: c.ID, Scope: c.Scope, Given: c.Given.day(), Withdrawn: c.Withdrawn.day(), Deleted: c.Deleted}
	}
	return consent.Derive(recs, today)
}

func toConsent(clientID string, r *localRecord) Consent {
	st := r.state
	return Consent{ID: st.GetRecordId(), ClientID: clientID, Scope: str(st, "scope"), Given: date(st, "given_on"),
		Withdrawn: date(st, "withdrawn_on"), Notes: str(st, "notes"), Author: str(st, "author"),
		WithdrawnBy: str(st, "withdrawn_by"), Deleted: merge.IsDeleted(st), Pending: r.pending}
}

func sortConsents(cs []Consent) {
	slices.SortFunc(cs, func(a, b Consent) int {
		return cmp.Or(cmp.Compare(slices.Index(schema.ConsentScopes, a.Scope), slices.Index(schema.ConsentScopes, b.Scope)),
			a.Given.Compare(b.Given), strings.Compare(a.ID, b.ID))
	})
}
