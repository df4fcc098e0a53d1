package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// auditColumns are the columns of `throughcare audit --csv`, one row per
// entry, as the console's audit screen exports them too.
var auditColumns = []string{"seq", "at", "action", "user_id", "role", "device_id", "address", "client_ids",
	"record_id", "team_id", "count", "from", "to", "prev_hash", "hash"}

// cmdAudit prints the audit trail about a client or by a user (admins),
// every page of it, as lines or as CSV.
func cmdAudit(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(c.out)
	client := fs.String("client", "", "entries about this client")
	user := fs.String("user", "", "entries of things this user did")
	asCSV := fs.Bool("csv", false, "write CSV (a header, then one row per entry)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*client == "") == (*user == "") {
		return errors.New("usage: throughcare audit --client ID | --user ID [--csv]")
	}
	w := csv.NewWriter(c.out)
	if *asCSV {
		if err := w.Write(auditColumns); err != nil {
			return err
		}
	}
	req := &v1.ListAuditRequest{ClientId: *client, UserId: *user}
	for {
		resp, err := c.adminClient().ListAudit(ctx, req)
		if err != nil {
			return err
		}
		for _, e := range resp.GetEntries() {
			if *asCSV {
				if err := w.Write(auditRow(e)); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(c.out, "%d %s %-18s user %s (%s) device %s from %s clients %s record %s count %d\n",
				e.GetSeq(), stamp(e.GetAt()), e.GetAction(), e.GetUserId(), e.GetRole(), dash(e.GetDeviceId()), dash(e.GetAddress()),
				dash(strings.Join(e.GetClientIds(), ",")), dash(e.GetRecordId()), e.GetCount())
		}
		if resp.GetNextAfter() == 0 {
			break
		}
		req.After = resp.GetNextAfter()
	}
	w.Flush()
	return w.Error()
}

// auditRow is an entry as a row of auditColumns.
func auditRow(e *v1.AuditEntry) []string {
	return []string{strconv.FormatUint(e.GetSeq(), 10), stamp(e.GetAt()), e.GetAction(), e.GetUserId(), e.GetRole(),
		e.GetDeviceId(), e.GetAddress(), strings.Join(e.GetClientIds(), " "), e.GetRecordId(), e.GetTeamId(),
		strconv.FormatUint(e.GetCount(), 10), stamp(e.GetFrom()), stamp(e.GetTo()), e.GetPrevHash(), e.GetHash()}
}

// stamp formats a time in UTC to the nanosecond, or "" for none.
func stamp(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().UTC().Format(time.RFC3339Nano)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
