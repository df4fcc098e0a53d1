package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func cmdWhoami(ctx context.Context, c *cli, _ []string) error {
	if err := c.signedIn(); err != nil {
		return err
	}
	area, err := c.adminClient().GetArea(ctx, &v1.GetAreaRequest{})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "user %s (%s) in %s, device %s\n", c.dev.UserID(), roleName(c.dev.Role()), area.GetName(), c.dev.DeviceID())
	return nil
}

func cmdDevices(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 && args[0] == "revoke" {
		return cmdDeviceRevoke(ctx, c, args[1:])
	}
	user, rest, err := userFlag("devices", c, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return errors.New("usage: throughcare devices [--user ID] [revoke [--user ID] ID]")
	}
	if user != "" {
		return cmdUserDevices(ctx, c, user)
	}
	resp, err := c.authClient().ListDevices(ctx, &v1.ListDevicesRequest{})
	if err != nil {
		return err
	}
	printDevices(c, resp.GetDevices())
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
	if len(args) > 0 && args[0] == "close" {
		return cmdClientClose(ctx, c, args[1:])
	}
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: throughcare client create --team ID --given G --family F --pathway P [--dob YYYY-MM-DD] | client close ID")
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
		fmt.Fprintf(c.out, "client %s team %s workers %s name %q status %s\n", cl.GetClientId(), cl.GetTeamId(),
			strings.Join(cl.GetWorkerIds(), ","), cl.GetDisplayName(), cmp.Or(cl.GetStatus(), "-"))
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
