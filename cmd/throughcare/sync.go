package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
)

// cmdLogContact logs a contact on the profile's device and syncs it. A
// contact the server cannot be reached for stays on the device, and the
// next log-contact or pull sends it.
func cmdLogContact(ctx context.Context, c *cli, args []string) error {
	if err := c.signedIn(); err != nil {
		return err
	}
	client, category, mode, notes := "", "", "", ""
	if err := flags("log-contact", args, c.out, []string{"client", "category", "mode"},
		map[string]*string{"client": &client, "category": &category, "mode": &mode, "notes": &notes}); err != nil {
		return err
	}
	contact := caseload.Contact{OccurredAt: time.Now(), Category: category, Mode: mode, Notes: notes}
	id, err := c.dev.LogContact(ctx, client, contact)
	if errors.Is(err, caseload.ErrNotFound) {
		// Not on this device yet (it has not synced since the assignment).
		if _, err := c.dev.Sync(ctx); err != nil {
			return err
		}
		id, err = c.dev.LogContact(ctx, client, contact)
	}
	if errors.Is(err, caseload.ErrNotFound) {
		return fmt.Errorf("client %s is not on your caseload", client)
	}
	if err != nil {
		return err
	}
	if _, err := c.dev.Sync(ctx); err != nil {
		return fmt.Errorf("contact %s is logged on this device but not synced (the next sync sends it): %w", id, err)
	}
	refused, err := c.dev.Rejections(ctx)
	if err != nil {
		return err
	}
	for _, r := range refused {
		if r.RecordID == id {
			return fmt.Errorf("the server refused the contact: %s", r.Message)
		}
	}
	fmt.Fprintf(c.out, "contact %s logged and synced\n", id)
	return nil
}

// cmdPull syncs the profile's device and lists the clients the sync
// brought news of, each with everything the device holds about it, and the
// clients it took off the device.
func cmdPull(ctx context.Context, c *cli, _ []string) error {
	if err := c.signedIn(); err != nil {
		return err
	}
	_, take, stop := c.dev.Watch()
	defer stop()
	rep, err := c.dev.Sync(ctx)
	if err != nil {
		return err
	}
	if rep.Reset {
		fmt.Fprintln(c.out, "the server asked for a reset; synced from scratch")
	}
	var ids []string
	evicted := map[string]bool{}
	for _, ev := range take() {
		switch ev.Kind {
		case caseload.Pulled:
			ids = append(ids, ev.ClientIDs...)
		case caseload.Evicted:
			ids = append(ids, ev.ClientIDs...)
			for _, id := range ev.ClientIDs {
				evicted[id] = true
			}
		}
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		tl, err := c.dev.Timeline(ctx, id)
		switch {
		case errors.Is(err, caseload.ErrNotFound):
			if evicted[id] {
				fmt.Fprintf(c.out, "client %s: no longer on your caseload (evicted)\n", id)
			}
		case err != nil:
			return err
		default:
			printTimeline(c, tl)
		}
	}
	fmt.Fprintf(c.out, "%d records\n", rep.Pulled)
	return nil
}

// printTimeline lists a client and its records, one line each.
func printTimeline(c *cli, tl caseload.Timeline) {
	cl := tl.Client
	fmt.Fprintf(c.out, "client %s: %s %s (%s, %s)%s\n", cl.ID, cl.GivenName, cl.FamilyName, cl.Pathway, cl.Status, marks(false, cl.Pending, len(cl.Conflicts)))
	for _, ct := range tl.Contacts {
		fmt.Fprintf(c.out, "  contact %s: %s %s by %s%s\n", ct.OccurredAt.UTC().Format("2006-01-02 15:04"), ct.Category, ct.Mode, ct.Author,
			marks(ct.Deleted, ct.Pending, len(ct.Conflicts)))
	}
	for _, g := range tl.Goals {
		fmt.Fprintf(c.out, "  goal %s: %s (%s)%s\n", g.ID, g.Domain, g.Status, marks(g.Deleted, g.Pending, len(g.Conflicts)))
	}
	for _, r := range tl.Referrals {
		fmt.Fprintf(c.out, "  referral %s: %s (%s)%s\n", r.ID, r.ServiceType, r.Status, marks(r.Deleted, r.Pending, len(r.Conflicts)))
	}
	for _, n := range tl.ReviewNotes {
		fmt.Fprintf(c.out, "  review note %s: %s%s\n", n.ID, n.State, marks(n.Deleted, n.Pending, 0))
	}
}

// marks notes a record's open conflicts, deletion and unsynced changes.
func marks(deleted, pending bool, conflicts int) string {
	s := ""
	if conflicts > 0 {
		s += fmt.Sprintf(" [%d open conflicts]", conflicts)
	}
	if deleted {
		s += " [deleted]"
	}
	if pending {
		s += " [not synced]"
	}
	return s
}
