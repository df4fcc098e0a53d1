package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// cmdInvites lists the invites the caller manages, newest first, one line
// each: id, role, state, team, expiry, the invitee's name and who made it
// ("server" for one the server minted). Codes are never shown again.
func cmdInvites(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("invites", flag.ContinueOnError)
	fs.SetOutput(c.out)
	all := fs.Bool("all", false, "also list invites that can no longer enrol anyone (used, revoked, expired, inviter disabled)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("usage: throughcare invites [--all]")
	}
	req := &v1.ListInvitesRequest{IncludeEnded: *all}
	for {
		resp, err := c.adminClient().ListInvites(ctx, req)
		if err != nil {
			return err
		}
		for _, in := range resp.GetInvites() {
			fmt.Fprintln(c.out, inviteLine(in))
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return nil
		}
	}
}

// inviteLine renders a listed invite.
func inviteLine(in *v1.Invite) string {
	team, by := in.GetTeamId(), in.GetCreatedByUserId()
	if team == "" {
		team = "-"
	}
	if by == "" {
		by = "server"
	}
	state := strings.ToLower(strings.TrimPrefix(in.GetState().String(), "INVITE_STATE_"))
	line := fmt.Sprintf("invite %s %-10s %-16s team %s expires %s %q by %s", in.GetInviteId(), roleName(in.GetRole()), state,
		team, in.GetExpiresAt().AsTime().Format(time.RFC3339), in.GetDisplayName(), by)
	if u := in.GetUsedByUserId(); u != "" {
		line += " used by " + u
	}
	if u := in.GetRevokedByUserId(); u != "" {
		line += " revoked by " + u
	}
	return line
}

// cmdInviteRevoke revokes an invite by id (from `invite` or `invites`).
func cmdInviteRevoke(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
		return errors.New("usage: throughcare invite revoke ID")
	}
	if _, err := c.adminClient().RevokeInvite(ctx, &v1.RevokeInviteRequest{InviteId: args[0]}); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "invite %s revoked: it enrols nobody\n", args[0])
	return nil
}
