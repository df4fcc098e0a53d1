package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/schema"
)

func cmdWhoami(ctx context.Context, c *cli, _ []string) error {
	if err := c.signedIn(); err != nil {
		return err
	}
	s := c.prof.Session
	area, err := c.adminClient().GetArea(ctx, &v1.GetAreaRequest{})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "user %s (%s) in %s, device %s\n", s.GetUserId(), roleName(s.GetRole()), area.GetName(), s.GetDeviceId())
	return nil
}

func cmdDevices(ctx context.Context, c *cli, _ []string) error {
	resp, err := c.authClient().ListDevices(ctx, &v1.ListDevicesRequest{})
	if err != nil {
		return err
	}
	for _, d := range resp.GetDevices() {
		state := "active"
		if d.GetRevokedAt() != nil {
			state = "revoked"
		}
		mark := " "
		if d.GetCurrent() {
			mark = "*"
		}
		fmt.Fprintf(c.out, "%s %s  %-24s %s\n", mark, d.GetDeviceId(), d.GetName(), state)
	}
	return nil
}

func cmdTeam(ctx context.Context, c *cli, args []string) error {
	if len(args) != 2 || args[0] != "create" {
		return errors.New("usage: throughcare team create NAME")
	}
	resp, err := c.adminClient().CreateTeam(ctx, &v1.CreateTeamRequest{Name: args[1]})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "team %s %q\n", resp.GetTeam().GetTeamId(), resp.GetTeam().GetName())
	return nil
}

func cmdTeams(ctx context.Context, c *cli, _ []string) error {
	resp, err := c.adminClient().ListTeams(ctx, &v1.ListTeamsRequest{})
	if err != nil {
		return err
	}
	for _, t := range resp.GetTeams() {
		fmt.Fprintf(c.out, "team %s %q\n", t.GetTeamId(), t.GetName())
	}
	return nil
}

func cmdInvite(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 && args[0] == "revoke" {
		return cmdInviteRevoke(ctx, c, args[1:])
	}
	role, team, name := "", "", ""
	if err := flags("invite", args, c.out, []string{"role", "name"}, map[string]*string{"role": &role, "team": &team, "name": &name}); err != nil {
		return err
	}
	r, ok := v1.Role_value["ROLE_"+strings.ToUpper(role)]
	if !ok || r == 0 {
		return fmt.Errorf("--role must be worker, supervisor or admin")
	}
	resp, err := c.adminClient().CreateInvite(ctx, &v1.CreateInviteRequest{Role: v1.Role(r), TeamId: team, DisplayName: name})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "invite %s id %s (expires %s)\n", resp.GetInviteCode(), resp.GetInviteId(), resp.GetExpiresAt().AsTime().Format(time.RFC3339))
	return nil
}

func cmdUsers(ctx context.Context, c *cli, _ []string) error {
	resp, err := c.adminClient().ListUsers(ctx, &v1.ListUsersRequest{})
	if err != nil {
		return err
	}
	for _, u := range resp.GetUsers() {
		state := ""
		if u.GetDisabled() {
			state = " (disabled)"
		}
		fmt.Fprintf(c.out, "user %s %-10s %q teams %s%s\n", u.GetUserId(), roleName(u.GetRole()), u.GetDisplayName(), strings.Join(u.GetTeamIds(), ","), state)
	}
	return nil
}

func cmdClient(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: throughcare client create --team ID --given G --family F --pathway P [--dob YYYY-MM-DD]")
	}
	team, given, family, pathway, dob := "", "", "", "", ""
	if err := flags("client create", args[1:], c.out, []string{"team", "given", "family", "pathway"},
		map[string]*string{"team": &team, "given": &given, "family": &family, "pathway": &pathway, "dob": &dob}); err != nil {
		return err
	}
	req := &v1.CreateClientRequest{TeamId: team, GivenName: given, FamilyName: family, Pathway: pathway}
	if dob != "" {
		t, err := time.Parse(time.DateOnly, dob)
		if err != nil {
			return fmt.Errorf("--dob must look like 1980-03-14")
		}
		req.DateOfBirth = &v1.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	resp, err := c.adminClient().CreateClient(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "client %s\n", resp.GetClientId())
	return nil
}

func cmdClients(ctx context.Context, c *cli, _ []string) error {
	resp, err := c.adminClient().ListClients(ctx, &v1.ListClientsRequest{})
	if err != nil {
		return err
	}
	for _, cl := range resp.GetClients() {
		fmt.Fprintf(c.out, "client %s team %s workers %s\n", cl.GetClientId(), cl.GetTeamId(), strings.Join(cl.GetWorkerIds(), ","))
	}
	return nil
}

func assignFlags(name string, c *cli, args []string) (string, string, error) {
	client, worker := "", ""
	err := flags(name, args, c.out, []string{"client", "worker"}, map[string]*string{"client": &client, "worker": &worker})
	return client, worker, err
}

func cmdAssign(ctx context.Context, c *cli, args []string) error {
	client, worker, err := assignFlags("assign", c, args)
	if err != nil {
		return err
	}
	if _, err := c.adminClient().AssignClient(ctx, &v1.AssignClientRequest{ClientId: client, WorkerId: worker}); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "assigned client %s to %s\n", client, worker)
	return nil
}

func cmdUnassign(ctx context.Context, c *cli, args []string) error {
	client, worker, err := assignFlags("unassign", c, args)
	if err != nil {
		return err
	}
	if _, err := c.adminClient().UnassignClient(ctx, &v1.UnassignClientRequest{ClientId: client, WorkerId: worker}); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "unassigned client %s from %s\n", client, worker)
	return nil
}

// cmdLogContact logs a contact as one user action (one stamp) and pushes it.
func cmdLogContact(ctx context.Context, c *cli, args []string) error {
	if err := c.signedIn(); err != nil {
		return err
	}
	client, category, mode, notes := "", "", "", ""
	if err := flags("log-contact", args, c.out, []string{"client", "category", "mode"},
		map[string]*string{"client": &client, "category": &category, "mode": &mode, "notes": &notes}); err != nil {
		return err
	}
	s := c.prof.Session
	clock := hlc.NewClock(s.GetDeviceId(), time.Now, 0)
	_ = clock.Observe(c.prof.LastStamp)
	now := clock.Now()
	stamp := &v1.Stamp{Time: now.Time, Replica: now.Replica}
	c.prof.LastStamp = now.Time
	id := uuid.Must(uuid.NewV7()).String()
	fields := []struct {
		name string
		v    *v1.Value
	}{
		{"occurred_at", &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: timestamppb.Now()}}},
		{"category", str(category)},
		{"mode", str(mode)},
		{"author", str(s.GetUserId())},
	}
	if notes != "" {
		fields = append(fields, struct {
			name string
			v    *v1.Value
		}{"notes", str(notes)})
	}
	var chs []*v1.Change
	for i, f := range fields {
		chs = append(chs, &v1.Change{DeviceSeq: c.prof.Seq + uint64(i) + 1, RecordId: id, RecordType: "contact", ClientId: client, Field: f.name, Value: f.v, Stamp: stamp})
	}
	resp, err := c.push(ctx, chs)
	if err != nil {
		return err
	}
	for _, r := range resp.GetResults() {
		if r.GetVerdict() == v1.Verdict_VERDICT_REJECTED {
			return fmt.Errorf("the server refused the contact: %s", r.GetMessage())
		}
	}
	fmt.Fprintf(c.out, "contact %s logged and synced\n", id)
	return nil
}

// push sends changes, renumbering them once if the server's high-water mark
// says this profile's numbering is behind (for example a copied profile).
func (c *cli) push(ctx context.Context, chs []*v1.Change) (*v1.PushResponse, error) {
	req := &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: schema.CurrentVersion, Changes: chs}
	resp, err := c.syncClient().Push(ctx, req)
	var cerr *connect.Error
	if errors.As(err, &cerr) && cerr.Code() == connect.CodeFailedPrecondition {
		for _, d := range cerr.Details() {
			if m, derr := d.Value(); derr == nil {
				if sm, ok := m.(*v1.SequenceMismatch); ok {
					for i, ch := range chs {
						ch.DeviceSeq = sm.GetHighWater() + uint64(i) + 1
					}
					resp, err = c.syncClient().Push(ctx, req)
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	c.prof.Seq = resp.GetHighWater()
	return resp, c.save()
}

// cmdPull syncs down everything new since the profile's cursor and lists
// it, one line a record.
func cmdPull(ctx context.Context, c *cli, _ []string) error {
	if err := c.signedIn(); err != nil {
		return err
	}
	sc := c.syncClient()
	records := 0
	for {
		resp, err := sc.Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: schema.CurrentVersion, Cursor: c.prof.Cursor})
		var cerr *connect.Error
		if errors.As(err, &cerr) && cerr.Code() == connect.CodeFailedPrecondition && len(c.prof.Cursor) > 0 {
			fmt.Fprintln(c.out, "the server asked for a reset; syncing from scratch")
			c.prof.Cursor = nil
			continue
		}
		if err != nil {
			return err
		}
		for _, b := range resp.GetBuckets() {
			if b.GetAction() == v1.BucketAction_BUCKET_ACTION_EVICT {
				fmt.Fprintf(c.out, "client %s: no longer on your caseload (evicted)\n", b.GetClientId())
				continue
			}
			for _, r := range b.GetRecords() {
				records++
				fmt.Fprintf(c.out, "%s\n", describe(merge.Expand(r)))
			}
		}
		c.prof.Cursor = resp.GetCursor()
		if err := c.save(); err != nil {
			return err
		}
		if !resp.GetHasMore() {
			fmt.Fprintf(c.out, "%d records\n", records)
			return nil
		}
	}
}

func describe(r *v1.RecordState) string {
	get := func(f string) string {
		fs := merge.Field(r, f)
		switch v := fs.GetValue().GetKind().(type) {
		case *v1.Value_StringValue:
			return v.StringValue
		case *v1.Value_TimestampValue:
			return v.TimestampValue.AsTime().Format("2006-01-02 15:04")
		}
		return ""
	}
	var s string
	switch r.GetRecordType() {
	case "client":
		s = fmt.Sprintf("client %s: %s %s (%s, %s)", r.GetRecordId(), get("given_name"), get("family_name"), get("pathway"), get("status"))
	case "contact":
		s = fmt.Sprintf("  contact %s: %s %s by %s", get("occurred_at"), get("category"), get("mode"), get("author"))
	default:
		s = fmt.Sprintf("  %s %s", r.GetRecordType(), r.GetRecordId())
	}
	if len(r.GetConflicts()) > 0 {
		s += fmt.Sprintf(" [%d open conflicts]", len(r.GetConflicts()))
	}
	if merge.IsDeleted(r) {
		s += " [deleted]"
	}
	return s
}

func str(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_StringValue{StringValue: s}} }
