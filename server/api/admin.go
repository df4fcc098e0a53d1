package api

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/backup"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/subject"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// IdempotencyKeyHeader, sent with CreateClient, makes a retry of the same
// request name the same client instead of creating another (see
// admin.Service.CreateClient).
const IdempotencyKeyHeader = "Idempotency-Key"

// Bounds on AdminService inputs, checked before the domain sees them (the
// domain applies the exact rules).
const (
	adminMaxIDBytes   = 128
	adminMaxNameBytes = 4 * admin.MaxNameLen
	adminMaxEnumBytes = 64
)

// adminHandler adapts packages admin and subject, and backup for
// StreamBackup, to Connect.
type adminHandler struct {
	svc     *admin.Service
	subject *subject.Service
	backups *backup.Service
}

var _ throughcarev1connect.AdminServiceHandler = (*adminHandler)(nil)

// NewAdminHandler serves AdminService from an admin.Service, its subject
// access and retention procedures from a subject.Service, and
// StreamBackup from a backup.Service (server.New builds all three).
func NewAdminHandler(svc *admin.Service, subj *subject.Service, backups *backup.Service) throughcarev1connect.AdminServiceHandler {
	return &adminHandler{svc: svc, subject: subj, backups: backups}
}

// adminBound is a request field and the most bytes it may have.
type adminBound struct {
	field, value string
	max          int
}

// adminTooLong reports the first field longer than its bound.
func adminTooLong(bounds ...adminBound) error {
	for _, b := range bounds {
		if len(b.value) > b.max {
			return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%s is too long (at most %d bytes)", b.field, b.max))
		}
	}
	return nil
}

func (h *adminHandler) GetArea(ctx context.Context, _ *v1.GetAreaRequest) (*v1.GetAreaResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	a, err := h.svc.GetArea(ctx, id)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	resp := &v1.GetAreaResponse{AreaId: a.ID, Name: a.Name, TopSchedule: topScheduleMsg(a.TOP)}
	if err := h.areaRetention(ctx, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func (h *adminHandler) CreateTeam(ctx context.Context, req *v1.CreateTeamRequest) (*v1.CreateTeamResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"name", req.GetName(), adminMaxNameBytes}); err != nil {
		return nil, err
	}
	t, err := h.svc.CreateTeam(ctx, id, req.GetName())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.CreateTeamResponse{Team: &v1.Team{TeamId: t.ID, Name: t.Name}}, nil
}

func (h *adminHandler) ListTeams(ctx context.Context, _ *v1.ListTeamsRequest) (*v1.ListTeamsResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	teams, err := h.svc.ListTeams(ctx, id)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	resp := &v1.ListTeamsResponse{}
	for _, t := range teams {
		resp.Teams = append(resp.Teams, &v1.Team{TeamId: t.ID, Name: t.Name})
	}
	return resp, nil
}

func (h *adminHandler) CreateInvite(ctx context.Context, req *v1.CreateInviteRequest) (*v1.CreateInviteResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"team_id", req.GetTeamId(), adminMaxIDBytes},
		adminBound{"display_name", req.GetDisplayName(), adminMaxNameBytes}); err != nil {
		return nil, err
	}
	in, err := h.svc.CreateInvite(ctx, id, adminRole(req.GetRole()), req.GetTeamId(), req.GetDisplayName())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.CreateInviteResponse{InviteCode: in.Code, ExpiresAt: timestamppb.New(in.ExpiresAt), InviteId: in.ID}, nil
}

func (h *adminHandler) ListInvites(ctx context.Context, req *v1.ListInvitesRequest) (*v1.ListInvitesResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"page_token", req.GetPageToken(), adminMaxIDBytes}); err != nil {
		return nil, err
	}
	page, err := h.svc.ListInvites(ctx, id, admin.InviteQuery{IncludeEnded: req.GetIncludeEnded(),
		PageSize: int(min(req.GetPageSize(), admin.MaxInvitePage)), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, connectError(ctx, err)
	}
	resp := &v1.ListInvitesResponse{NextPageToken: page.NextPageToken}
	for _, in := range page.Invites {
		m := &v1.Invite{InviteId: in.ID, Role: in.Role.Proto(), TeamId: in.TeamID, DisplayName: in.DisplayName,
			CreatedByUserId: in.CreatedBy, ExpiresAt: timestamppb.New(in.ExpiresAt), State: inviteState(in.State),
			UsedByUserId: in.UsedBy, RevokedByUserId: in.RevokedBy}
		if !in.CreatedAt.IsZero() {
			m.CreatedAt = timestamppb.New(in.CreatedAt)
		}
		resp.Invites = append(resp.Invites, m)
	}
	return resp, nil
}

func (h *adminHandler) RevokeInvite(ctx context.Context, req *v1.RevokeInviteRequest) (*v1.RevokeInviteResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"invite_id", req.GetInviteId(), adminMaxIDBytes}); err != nil {
		return nil, err
	}
	if err := h.svc.RevokeInvite(ctx, id, req.GetInviteId()); err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.RevokeInviteResponse{}, nil
}

func (h *adminHandler) ListUsers(ctx context.Context, _ *v1.ListUsersRequest) (*v1.ListUsersResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	users, err := h.svc.ListUsers(ctx, id)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	resp := &v1.ListUsersResponse{}
	for _, u := range users {
		resp.Users = append(resp.Users, &v1.User{UserId: u.ID, DisplayName: u.DisplayName, Role: u.Role.Proto(), TeamIds: u.TeamIDs, Disabled: u.Disabled})
	}
	return resp, nil
}

func (h *adminHandler) DisableUser(ctx context.Context, req *v1.DisableUserRequest) (*v1.DisableUserResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"user_id", req.GetUserId(), adminMaxIDBytes}); err != nil {
		return nil, err
	}
	if err := h.svc.DisableUser(ctx, id, req.GetUserId()); err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.DisableUserResponse{}, nil
}

func (h *adminHandler) CreateClient(ctx context.Context, req *v1.CreateClientRequest) (*v1.CreateClientResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var key string
	if info, ok := connect.CallInfoForHandlerContext(ctx); ok {
		key = info.RequestHeader().Get(IdempotencyKeyHeader)
	}
	if err := adminTooLong(
		adminBound{"team_id", req.GetTeamId(), adminMaxIDBytes},
		adminBound{"given_name", req.GetGivenName(), adminMaxNameBytes},
		adminBound{"family_name", req.GetFamilyName(), adminMaxNameBytes},
		adminBound{"pathway", req.GetPathway(), adminMaxEnumBytes},
		adminBound{IdempotencyKeyHeader, key, admin.MaxIdempotencyKeyLen},
	); err != nil {
		return nil, err
	}
	clientID, err := h.svc.CreateClient(ctx, id, admin.NewClient{
		TeamID: req.GetTeamId(), GivenName: req.GetGivenName(), FamilyName: req.GetFamilyName(),
		DateOfBirth: req.GetDateOfBirth(), Pathway: req.GetPathway(), IdempotencyKey: key,
	})
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.CreateClientResponse{ClientId: clientID}, nil
}

func (h *adminHandler) ListClients(ctx context.Context, req *v1.ListClientsRequest) (*v1.ListClientsResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"team_id", req.GetTeamId(), adminMaxIDBytes}); err != nil {
		return nil, err
	}
	clients, err := h.svc.ListClients(ctx, id, req.GetTeamId())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	resp := &v1.ListClientsResponse{}
	for _, c := range clients {
		resp.Clients = append(resp.Clients, &v1.ClientSummary{ClientId: c.ID, TeamId: c.TeamID, WorkerIds: c.WorkerIDs,
			DisplayName: c.DisplayName, Status: c.Status})
	}
	return resp, nil
}

func (h *adminHandler) AssignClient(ctx context.Context, req *v1.AssignClientRequest) (*v1.AssignClientResponse, error) {
	return &v1.AssignClientResponse{}, h.assignment(ctx, req.GetClientId(), req.GetWorkerId(), h.svc.AssignClient)
}

func (h *adminHandler) UnassignClient(ctx context.Context, req *v1.UnassignClientRequest) (*v1.UnassignClientResponse, error) {
	return &v1.UnassignClientResponse{}, h.assignment(ctx, req.GetClientId(), req.GetWorkerId(), h.svc.UnassignClient)
}

// assignment validates and runs an assignment change (AssignClient,
// UnassignClient).
func (h *adminHandler) assignment(ctx context.Context, clientID, workerID string,
	change func(context.Context, *identity.Identity, string, string) error) error {
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	if err := adminTooLong(adminBound{"client_id", clientID, adminMaxIDBytes},
		adminBound{"worker_id", workerID, adminMaxIDBytes}); err != nil {
		return err
	}
	if err := change(ctx, id, clientID, workerID); err != nil {
		return connectError(ctx, err)
	}
	return nil
}

// inviteState maps a domain invite state to the wire.
func inviteState(st admin.InviteState) v1.InviteState {
	switch st {
	case admin.InvitePending:
		return v1.InviteState_INVITE_STATE_PENDING
	case admin.InviteUsed:
		return v1.InviteState_INVITE_STATE_USED
	case admin.InviteRevoked:
		return v1.InviteState_INVITE_STATE_REVOKED
	case admin.InviteExpired:
		return v1.InviteState_INVITE_STATE_EXPIRED
	case admin.InviteInviterDisabled:
		return v1.InviteState_INVITE_STATE_INVITER_DISABLED
	}
	return v1.InviteState_INVITE_STATE_UNSPECIFIED
}

// adminRole maps a wire role to a domain role (0 for none or unknown, which
// the domain refuses).
func adminRole(r v1.Role) identity.Role {
	switch r {
	case v1.Role_ROLE_WORKER:
		return identity.Worker
	case v1.Role_ROLE_SUPERVISOR:
		return identity.Supervisor
	case v1.Role_ROLE_ADMIN:
		return identity.Admin
	}
	return 0
}
