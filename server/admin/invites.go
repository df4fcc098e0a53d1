package admin

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// Invites: who may manage which. An admin manages every invite of their
// area; a supervisor the invites they could have made, worker invites to
// their own teams (whoever made them). Anything else answers NotFound.

// Invite is a new invite: the code to hand over (shown once; only its hash
// is stored), the id that names it in lists and for revoking, and when it
// expires.
type Invite struct {
	ID, Code  string
	ExpiresAt time.Time
}

// InviteState says whether an invite may still enrol someone, and if not,
// why.
type InviteState int

// The states of an invite.
const (
	// InvitePending may still be used.
	InvitePending InviteState = iota + 1
	// InviteUsed enrolled someone.
	InviteUsed
	// InviteRevoked was revoked.
	InviteRevoked
	// InviteExpired expired unused.
	InviteExpired
	// InviteInviterDisabled enrols nobody: whoever made it is disabled.
	InviteInviterDisabled
)

// InviteInfo is an invite as the people who manage it see it; its code is
// never shown again.
type InviteInfo struct {
	ID   string
	Role identity.Role
	// TeamID is empty for an admin invite to no team.
	TeamID string
	// DisplayName is the invitee's name as the inviter typed it.
	DisplayName string
	// CreatedBy is the inviter's user id, empty if the server minted it.
	CreatedBy string
	// CreatedAt is zero for invites stored before it was recorded.
	CreatedAt, ExpiresAt time.Time
	State                InviteState
	// UsedBy is the user who enrolled with it; RevokedBy who revoked it.
	UsedBy, RevokedBy string
}

// InviteQuery selects a page of invites.
type InviteQuery struct {
	// IncludeEnded also lists invites that can no longer enrol anyone (they
	// are kept store.InviteKeptFor after they expire).
	IncludeEnded bool
	// PageSize is the most invites to return: 0 means DefaultInvitePage,
	// more than MaxInvitePage means MaxInvitePage.
	PageSize int
	// PageToken is the NextPageToken of the previous page; empty for the
	// first.
	PageToken string
}

// InvitePage is a page of invites, newest first.
type InvitePage struct {
	Invites []InviteInfo
	// NextPageToken fetches the next page; empty on the last.
	NextPageToken string
}

// Bounds on a ListInvites page.
const (
	DefaultInvitePage = 50
	MaxInvitePage     = 500
)

var errInviteNF = errkind.E(errkind.NotFound, "invite not found")

// CreateInvite makes a one-time invite for a person to enrol with the role,
// in the caller's area, expiring after the configured TTL. Workers and
// supervisors join a team in the caller's reach (required); an admin invite
// needs no team (if one is given it must be in the area). Admins may invite
// any role; supervisors only workers, to their own teams. The invite enrols
// nobody once it is revoked or its inviter is disabled.
func (s *Service) CreateInvite(ctx context.Context, id *identity.Identity, role identity.Role, teamID, displayName string) (Invite, error) {
	name, err := cleanName("display_name", displayName)
	if err != nil {
		return Invite{}, err
	}
	if role != identity.Worker && role != identity.Supervisor && role != identity.Admin {
		return Invite{}, errkind.E(errkind.Invalid, "role must be worker, supervisor or admin")
	}
	code, now := auth.NewInviteCode(), s.now()
	in := &store.Invite{Hash: auth.HashSecret(code), ID: uuid.Must(uuid.NewV7()).String(), Role: role.String(),
		DisplayName: name, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	err = s.directory(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.InvitePeople)
		if err != nil {
			return err
		}
		if !sc.MayInvite(role) {
			return access.Forbidden(id.Role, "invite a "+role.String())
		}
		if teamID == "" && role != identity.Admin {
			return errkind.E(errkind.Invalid, "team_id is required to invite a %s", role)
		}
		if teamID != "" {
			if _, err := sc.Team(tx, teamID); err != nil {
				return err
			}
		}
		in.AreaID, in.TeamID, in.CreatedBy = sc.Area(), teamID, id.UserID
		if err := tx.PutInvite(in); err != nil {
			return err
		}
		return s.changeAudit(ctx, tx, id, store.AuditCreateInvite, "", in.ID, teamID)
	})
	if err != nil {
		return Invite{}, err
	}
	s.log.Info().Str("user_id", id.UserID).Str("area_id", in.AreaID).Str("team_id", teamID).Str("role", in.Role).
		Str("invite_id", in.ID).Time("expires_at", in.ExpiresAt).Msg("invite created")
	return Invite{ID: in.ID, Code: code, ExpiresAt: in.ExpiresAt}, nil
}

// ListInvites lists the invites the caller manages, newest first: the
// pending ones, or with q.IncludeEnded also those that can no longer enrol
// anyone. Never their codes.
func (s *Service) ListInvites(ctx context.Context, id *identity.Identity, q InviteQuery) (InvitePage, error) {
	size := q.PageSize
	switch {
	case size <= 0:
		size = DefaultInvitePage
	case size > MaxInvitePage:
		size = MaxInvitePage
	}
	if q.PageToken != "" {
		if _, err := uuid.Parse(q.PageToken); err != nil {
			return InvitePage{}, errkind.E(errkind.Invalid, "page_token is not one this server gave")
		}
	}
	var page InvitePage
	now := s.now()
	err := s.view(ctx, func(tx store.DirTx) error {
		page = InvitePage{}
		sc, err := access.Resolve(tx, id, access.ListInvites)
		if err != nil {
			return err
		}
		var ferr error
		err = tx.InvitesOfArea(sc.Area(), q.PageToken, func(in *store.Invite) bool {
			if !sc.ManagesInvite(in) {
				return true
			}
			info, err := inviteInfo(tx, in, now)
			if err != nil {
				ferr = err
				return false
			}
			if info.State != InvitePending && !q.IncludeEnded {
				return true
			}
			if len(page.Invites) == size {
				page.NextPageToken = page.Invites[size-1].ID
				return false
			}
			page.Invites = append(page.Invites, info)
			return true
		})
		return errors.Join(err, ferr)
	})
	if err != nil {
		return InvitePage{}, err
	}
	return page, nil
}

// inviteInfo describes a stored invite as its managers see it.
func inviteInfo(tx store.DirTx, in *store.Invite, now time.Time) (InviteInfo, error) {
	info := InviteInfo{ID: in.ID, Role: identity.ParseRole(in.Role), TeamID: in.TeamID, DisplayName: in.DisplayName,
		CreatedAt: in.CreatedAt, ExpiresAt: in.ExpiresAt, UsedBy: in.UsedBy, RevokedBy: in.RevokedBy}
	if in.CreatedBy != store.InviteByServer {
		info.CreatedBy = in.CreatedBy
	}
	switch {
	case in.Used():
		info.State = InviteUsed
	case in.Revoked():
		info.State = InviteRevoked
	case !now.Before(in.ExpiresAt):
		info.State = InviteExpired
	default:
		active, err := auth.InviterActive(tx, in)
		if err != nil {
			return InviteInfo{}, err
		}
		info.State = InvitePending
		if !active {
			info.State = InviteInviterDisabled
		}
	}
	return info, nil
}

// RevokeInvite stops an invite the caller manages enrolling anyone, at
// once: an enrolment already under way with it fails. Revoking a revoked
// (or expired) invite succeeds and changes nothing more; a used one is
// Precondition, since revoking cannot undo the enrolment (disable the user
// instead). An invite the caller does not manage is NotFound.
func (s *Service) RevokeInvite(ctx context.Context, id *identity.Identity, inviteID string) error {
	var in *store.Invite
	changed := false
	err := s.directory(ctx, func(tx store.DirTx) error {
		changed = false
		sc, err := access.Resolve(tx, id, access.RevokeInvites)
		if err != nil {
			return err
		}
		if inviteID == "" {
			return errkind.E(errkind.Invalid, "invite_id is required")
		}
		in, err = tx.InviteOfArea(sc.Area(), inviteID)
		if errors.Is(err, store.ErrNotFound) || err == nil && !sc.ManagesInvite(in) {
			return errInviteNF
		}
		switch {
		case err != nil:
			return err
		case in.Used():
			return errkind.E(errkind.Precondition, "the invite has already been used; disable the user instead")
		case in.Revoked():
			return nil
		}
		in.RevokedBy, in.RevokedAt, changed = id.UserID, s.now(), true
		if err := tx.PutInvite(in); err != nil {
			return err
		}
		return s.changeAudit(ctx, tx, id, store.AuditRevokeInvite, "", in.ID, in.TeamID)
	})
	if err != nil {
		return err
	}
	if changed {
		s.log.Info().Str("user_id", id.UserID).Str("area_id", in.AreaID).Str("invite_id", in.ID).Msg("invite revoked")
	}
	return nil
}
