package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/server/backup"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// cell makes one call of the matrix: caller (nil: no session) against the
// target (own, teamMate, otherTeam, otherArea), and renders its outcome.
type cell func(w *world, caller *person, target int) string

// backupOutcome renders a backup's result. A store whose backups are its
// own (PostgreSQL: pg_dump; backup.Refuser) refuses every backup once the
// caller has passed the policy, with backup.ErrNotSupported: for the matrix
// that caller is "ok", as on a store the server backs up. Any other
// refusal, or this one on a store that takes backups, is rendered as it is.
func backupOutcome(w *world, err error) string {
	r, refuses := w.st.(backup.Refuser)
	if refuses && r.BackupRefused() != nil && connect.CodeOf(err) == connect.CodeFailedPrecondition &&
		strings.Contains(err.Error(), backup.ErrNotSupported.Error()) {
		return ok
	}
	return outcome(err)
}

var cells = map[string]cell{
	"throughcare.v1.AuthService/BeginEnrollment": func(w *world, caller *person, target int) string {
		code := w.invite(w.admins[target], v1.Role_ROLE_WORKER, w.teams[target])
		_, err := w.authClient(caller.token()).BeginEnrollment(w.ctx, &v1.BeginEnrollmentRequest{InviteCode: code, DeviceName: "Tablet"})
		return outcome(err)
	},
	"throughcare.v1.AuthService/FinishEnrollment": func(w *world, caller *person, target int) string {
		code := w.invite(w.admins[target], v1.Role_ROLE_WORKER, w.teams[target])
		_, err := passkey.Enrol(w.ctx, w.authClient(caller.token()), software.New(testRP.Origin), code, "Tablet")
		return outcome(err)
	},
	"throughcare.v1.AuthService/BeginLogin": func(w *world, caller *person, _ int) string {
		_, err := w.authClient(caller.token()).BeginLogin(w.ctx, &v1.BeginLoginRequest{})
		return outcome(err)
	},
	"throughcare.v1.AuthService/FinishLogin": func(w *world, caller *person, target int) string {
		// The target's worker signs in on another tablet; whoever's session
		// the request carries plays no part.
		_, err := passkey.SignIn(w.ctx, w.authClient(caller.token()), w.workers[target].key, "")
		return outcome(err)
	},
	"throughcare.v1.AuthService/Refresh": func(w *world, caller *person, target int) string {
		sess, err := passkey.SignIn(w.ctx, w.authClient(""), w.workers[target].key, "")
		if err != nil {
			return "setup: " + outcome(err)
		}
		_, err = w.authClient(caller.token()).Refresh(w.ctx, &v1.RefreshRequest{RefreshToken: sess.GetRefreshToken()})
		return outcome(err)
	},
	"throughcare.v1.AuthService/Logout": func(w *world, caller *person, _ int) string {
		_, err := w.authClient(caller.token()).Logout(w.ctx, &v1.LogoutRequest{})
		if err == nil {
			if _, still := w.authClient(caller.token()).ListDevices(w.ctx, &v1.ListDevicesRequest{}); still == nil {
				return "the session outlived its logout"
			}
			w.signIn(caller)
		}
		return outcome(err)
	},
	"throughcare.v1.AuthService/ListDevices": func(w *world, caller *person, target int) string {
		dev := w.deviceTarget(caller, target)
		resp, err := w.authClient(caller.token()).ListDevices(w.ctx, &v1.ListDevicesRequest{})
		return visible(err, slices.ContainsFunc(resp.GetDevices(), func(d *v1.Device) bool { return d.GetDeviceId() == dev }))
	},
	"throughcare.v1.AuthService/RevokeDevice": func(w *world, caller *person, target int) string {
		dev := w.deviceTarget(caller, target)
		_, err := w.authClient(caller.token()).RevokeDevice(w.ctx, &v1.RevokeDeviceRequest{DeviceId: dev})
		return outcome(err)
	},

	"throughcare.v1.AdminService/GetArea": func(w *world, caller *person, _ int) string {
		_, err := w.adminClient(caller.token()).GetArea(w.ctx, &v1.GetAreaRequest{})
		return outcome(err)
	},
	"throughcare.v1.AdminService/CreateTeam": func(w *world, caller *person, _ int) string {
		_, err := w.adminClient(caller.token()).CreateTeam(w.ctx, &v1.CreateTeamRequest{Name: "Team " + newUUID()[:8]})
		return outcome(err)
	},
	"throughcare.v1.AdminService/ListTeams": func(w *world, caller *person, target int) string {
		resp, err := w.adminClient(caller.token()).ListTeams(w.ctx, &v1.ListTeamsRequest{})
		return visible(err, slices.ContainsFunc(resp.GetTeams(), func(t *v1.Team) bool { return t.GetTeamId() == w.teams[target] }))
	},
	"throughcare.v1.AdminService/CreateInvite": func(w *world, caller *person, target int) string {
		_, err := w.adminClient(caller.token()).CreateInvite(w.ctx, &v1.CreateInviteRequest{Role: v1.Role_ROLE_WORKER, TeamId: w.teams[target], DisplayName: "Pat Example"})
		return outcome(err)
	},
	"throughcare.v1.AdminService/ListInvites": func(w *world, caller *person, target int) string {
		made, err := w.adminClient(w.admins[target].token()).CreateInvite(w.ctx, &v1.CreateInviteRequest{
			Role: v1.Role_ROLE_WORKER, TeamId: w.teams[target], DisplayName: "Pat Example"})
		if err != nil {
			return "setup: " + outcome(err)
		}
		var seen bool
		req := &v1.ListInvitesRequest{PageSize: 500}
		for {
			resp, err := w.adminClient(caller.token()).ListInvites(w.ctx, req)
			if err != nil {
				return outcome(err)
			}
			for _, in := range resp.GetInvites() {
				if in.GetInviteId() == made.GetInviteId() {
					seen = true
				}
				if strings.Contains(in.String(), "tci_") {
					return "a listed invite carries a code"
				}
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return visible(nil, seen)
			}
		}
	},
	"throughcare.v1.AdminService/RevokeInvite": func(w *world, caller *person, target int) string {
		made, err := w.adminClient(w.admins[target].token()).CreateInvite(w.ctx, &v1.CreateInviteRequest{
			Role: v1.Role_ROLE_WORKER, TeamId: w.teams[target], DisplayName: "Pat Example"})
		if err != nil {
			return "setup: " + outcome(err)
		}
		_, err = w.adminClient(caller.token()).RevokeInvite(w.ctx, &v1.RevokeInviteRequest{InviteId: made.GetInviteId()})
		_, enrolErr := w.authClient("").BeginEnrollment(w.ctx, &v1.BeginEnrollmentRequest{InviteCode: made.GetInviteCode(), DeviceName: "Tablet"})
		switch {
		case err == nil && enrolErr == nil:
			return "revoked, yet the invite still enrols"
		case err != nil && enrolErr != nil:
			return fmt.Sprintf("refused (%s), yet the invite no longer enrols: %s", outcome(err), outcome(enrolErr))
		}
		return outcome(err)
	},
	"throughcare.v1.AdminService/ListUsers": func(w *world, caller *person, target int) string {
		resp, err := w.adminClient(caller.token()).ListUsers(w.ctx, &v1.ListUsersRequest{})
		uid := w.workers[target].sess.GetUserId()
		return visible(err, slices.ContainsFunc(resp.GetUsers(), func(u *v1.User) bool { return u.GetUserId() == uid }))
	},
	"throughcare.v1.AdminService/DisableUser": func(w *world, caller *person, target int) string {
		spare := w.invitee(w.admins[target], v1.Role_ROLE_WORKER, w.teams[target])
		_, err := w.adminClient(caller.token()).DisableUser(w.ctx, &v1.DisableUserRequest{UserId: spare.sess.GetUserId()})
		return outcome(err)
	},
	"throughcare.v1.AdminService/ListAudit": func(w *world, caller *person, target int) string {
		_, err := w.adminClient(caller.token()).ListAudit(w.ctx, &v1.ListAuditRequest{ClientId: w.clients[target]})
		return outcome(err)
	},
	"throughcare.v1.AdminService/CreateClient": func(w *world, caller *person, target int) string {
		_, err := w.adminClient(caller.token()).CreateClient(w.ctx, &v1.CreateClientRequest{
			TeamId: w.teams[target], GivenName: "Alex", FamilyName: "Smith", Pathway: "licence"})
		return outcome(err)
	},
	"throughcare.v1.AdminService/ListClients": func(w *world, caller *person, target int) string {
		resp, err := w.adminClient(caller.token()).ListClients(w.ctx, &v1.ListClientsRequest{TeamId: w.teams[target]})
		return visible(err, slices.ContainsFunc(resp.GetClients(), func(c *v1.ClientSummary) bool { return c.GetClientId() == w.clients[target] }))
	},
	"throughcare.v1.AdminService/AssignClient": func(w *world, caller *person, target int) string {
		spare := w.invitee(w.admins[target], v1.Role_ROLE_WORKER, w.teams[target])
		_, err := w.adminClient(caller.token()).AssignClient(w.ctx, &v1.AssignClientRequest{ClientId: w.clients[target], WorkerId: spare.sess.GetUserId()})
		return outcome(err)
	},
	"throughcare.v1.AdminService/UnassignClient": func(w *world, caller *person, target int) string {
		spare := w.invitee(w.admins[target], v1.Role_ROLE_WORKER, w.teams[target])
		w.assign(w.admins[target], w.clients[target], spare)
		_, err := w.adminClient(caller.token()).UnassignClient(w.ctx, &v1.UnassignClientRequest{ClientId: w.clients[target], WorkerId: spare.sess.GetUserId()})
		return outcome(err)
	},
	"throughcare.v1.AdminService/StreamBackup": func(w *world, caller *person, _ int) string {
		stream, err := w.adminClient(caller.token()).StreamBackup(w.ctx, &v1.StreamBackupRequest{})
		if err != nil {
			return outcome(err)
		}
		defer stream.Close()
		for stream.Receive() {
		}
		return backupOutcome(w, stream.Err())
	},
	"throughcare.v1.AdminService/CloseClient": func(w *world, caller *person, target int) string {
		made, err := w.adminClient(w.admins[target].token()).CreateClient(w.ctx, &v1.CreateClientRequest{
			TeamId: w.teams[target], GivenName: "Alex", FamilyName: "Smith", Pathway: "licence"})
		if err != nil {
			return "setup: " + outcome(err)
		}
		_, err = w.adminClient(caller.token()).CloseClient(w.ctx, &v1.CloseClientRequest{ClientId: made.GetClientId()})
		return outcome(err)
	},
	"throughcare.v1.AdminService/ListUserDevices": func(w *world, caller *person, target int) string {
		wk := w.workers[target].sess
		resp, err := w.adminClient(caller.token()).ListUserDevices(w.ctx, &v1.ListUserDevicesRequest{UserId: wk.GetUserId()})
		if err == nil && !slices.ContainsFunc(resp.GetDevices(), func(d *v1.Device) bool { return d.GetDeviceId() == wk.GetDeviceId() }) {
			return "the worker's tablet is not listed"
		}
		return outcome(err)
	},
	"throughcare.v1.AdminService/RevokeUserDevice": func(w *world, caller *person, target int) string {
		spare := w.invitee(w.admins[target], v1.Role_ROLE_WORKER, w.teams[target])
		_, err := w.adminClient(caller.token()).RevokeUserDevice(w.ctx, &v1.RevokeUserDeviceRequest{
			UserId: spare.sess.GetUserId(), DeviceId: spare.sess.GetDeviceId()})
		_, still := w.authClient(spare.token()).ListDevices(w.ctx, &v1.ListDevicesRequest{})
		if (err == nil) != (still != nil) {
			return fmt.Sprintf("revoke answered %s, yet the device's session answers %s", outcome(err), outcome(still))
		}
		return outcome(err)
	},

	"throughcare.v1.SyncService/Push": func(w *world, caller *person, target int) string {
		var chs []*v1.Change
		if caller == nil { // a well-formed push, sent without a session
			_, chs = sample.NewDevice("nobody", time.Now, 1).NewContact(w.clients[target], time.Now())
		} else {
			chs = w.contact(caller, w.clients[target])
		}
		resp, err := w.syncClient(caller.token()).Push(w.ctx, pushReq(chs...))
		if err != nil {
			return outcome(err)
		}
		var verdicts []string
		for _, r := range resp.GetResults() {
			v := "applied"
			if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
				v = "rejected:" + strings.ToLower(strings.TrimPrefix(r.GetReason().String(), "REJECT_REASON_"))
			}
			if !slices.Contains(verdicts, v) {
				verdicts = append(verdicts, v)
			}
		}
		return strings.Join(verdicts, "+")
	},
	"throughcare.v1.SyncService/Pull": func(w *world, caller *person, target int) string {
		var cursor []byte
		seen := false
		for {
			resp, err := w.syncClient(caller.token()).Pull(w.ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Cursor: cursor})
			if err != nil {
				return outcome(err)
			}
			seen = seen || hasBucket(resp, w.clients[target])
			if cursor = resp.GetCursor(); !resp.GetHasMore() {
				return visible(nil, seen)
			}
		}
	},
	"throughcare.v1.SyncService/Subscribe": func(w *world, caller *person, target int) string {
		ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
		defer cancel()
		stream, err := w.syncClient(caller.token()).Subscribe(ctx, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
		if err != nil {
			return outcome(err)
		}
		defer stream.Close()
		if !stream.Receive() {
			return outcome(stream.Err())
		}
		return visible(nil, hasBucket(stream.Msg().GetChanges(), w.clients[target]))
	},

	"throughcare.v1.AdminService/ExportSubject": func(w *world, caller *person, target int) string {
		stream, err := w.adminClient(caller.token()).ExportSubject(w.ctx, &v1.ExportSubjectRequest{ClientId: w.clients[target]})
		if err != nil {
			return outcome(err)
		}
		defer stream.Close()
		n := 0
		for stream.Receive() {
			n += len(stream.Msg().GetChunk())
		}
		if err := stream.Err(); err != nil || n > 0 {
			return outcome(err)
		}
		return "an empty archive"
	},
	"throughcare.v1.AdminService/SetRetention": func(w *world, caller *person, _ int) string {
		_, err := w.adminClient(caller.token()).SetRetention(w.ctx, &v1.SetRetentionRequest{UseDefault: true})
		return outcome(err)
	},

	"throughcare.v1.ReviewService/ListContacts": func(w *world, caller *person, target int) string {
		resp, err := w.reviewClient(caller.token()).ListContacts(w.ctx, &v1.ListContactsRequest{PageSize: 500})
		return visible(err, slices.ContainsFunc(resp.GetContacts(), func(c *v1.ContactSummary) bool {
			return c.GetRecord().GetRecordId() == w.contacts[target]
		}))
	},
	"throughcare.v1.ReviewService/GetOrderReport": func(w *world, caller *person, target int) string {
		_, err := w.reviewClient(caller.token()).GetOrderReport(w.ctx, &v1.GetOrderReportRequest{ClientId: w.clients[target],
			OrderId: w.order(target), From: &v1.Date{Year: 2026, Month: 1, Day: 1}, To: &v1.Date{Year: 2026, Month: 12, Day: 31}})
		return outcome(err)
	},
	"throughcare.v1.ReviewService/GetTimeline": func(w *world, caller *person, target int) string {
		_, err := w.reviewClient(caller.token()).GetTimeline(w.ctx, &v1.GetTimelineRequest{ClientId: w.clients[target]})
		return outcome(err)
	},
	"throughcare.v1.ReviewService/ReviewContact": func(w *world, caller *person, target int) string {
		_, err := w.reviewClient(caller.token()).ReviewContact(w.ctx, &v1.ReviewContactRequest{
			ClientId: w.clients[target], ContactId: w.contacts[target], Decision: v1.ReviewDecision_REVIEW_DECISION_REVIEWED})
		return outcome(err)
	},
	"throughcare.v1.ReviewService/ListConflicts": func(w *world, caller *person, target int) string {
		id := w.conflict(target)
		resp, err := w.reviewClient(caller.token()).ListConflicts(w.ctx, &v1.ListConflictsRequest{})
		return visible(err, slices.ContainsFunc(resp.GetConflicts(), func(c *v1.ConflictSummary) bool {
			return c.GetRecordId() == w.contacts[target] && c.GetConflict().GetId() == id
		}))
	},
	"throughcare.v1.ReviewService/ResolveConflict": func(w *world, caller *person, target int) string {
		id := w.conflict(target)
		_, err := w.reviewClient(caller.token()).ResolveConflict(w.ctx, &v1.ResolveConflictRequest{ClientId: w.clients[target],
			RecordId: w.contacts[target], ConflictId: id, Resolution: &v1.ResolveConflictRequest_Choice{Choice: v1.ConflictChoice_CONFLICT_CHOICE_CURRENT}})
		return outcome(err)
	},
	"throughcare.v1.ReviewService/GetStatistics": func(w *world, caller *person, target int) string {
		_, err := w.reviewClient(caller.token()).GetStatistics(w.ctx, &v1.GetStatisticsRequest{TeamId: w.teams[target]})
		return outcome(err)
	},
	"throughcare.v1.ReviewService/GetOutcomeMovement": func(w *world, caller *person, target int) string {
		_, err := w.reviewClient(caller.token()).GetOutcomeMovement(w.ctx, &v1.GetOutcomeMovementRequest{TeamId: w.teams[target]})
		return outcome(err)
	},
	// The team's caseload: NotFound out of reach; in reach, it lists the
	// target's client.
	"throughcare.v1.ReviewService/GetCaseload": func(w *world, caller *person, target int) string {
		resp, err := w.reviewClient(caller.token()).GetCaseload(w.ctx, &v1.GetCaseloadRequest{TeamId: w.teams[target]})
		return visible(err, slices.ContainsFunc(resp.GetClients(), func(c *v1.CaseloadClient) bool { return c.GetClientId() == w.clients[target] }))
	},

	"throughcare.v1.AdminService/SetTOPInterval": func(w *world, caller *person, _ int) string {
		_, err := w.adminClient(caller.token()).SetTOPInterval(w.ctx, &v1.SetTOPIntervalRequest{UseDefault: true})
		return outcome(err)
	},
	// The team's TOP data-quality list: NotFound out of reach.
	"throughcare.v1.ReviewService/ListTOPIssues": func(w *world, caller *person, target int) string {
		_, err := w.reviewClient(caller.token()).ListTOPIssues(w.ctx, &v1.ListTOPIssuesRequest{TeamId: w.teams[target]})
		return outcome(err)
	},
}

func hasBucket(p *v1.PullResponse, client string) bool {
	return slices.ContainsFunc(p.GetBuckets(), func(b *v1.BucketUpdate) bool { return b.GetClientId() == client })
}

// deviceTarget is the device a device cell acts on: one of the caller's
// own (on another tablet), or the main device of the target's worker.
func (w *world) deviceTarget(caller *person, target int) string {
	if target != own {
		return w.workers[target].sess.GetDeviceId()
	}
	if caller == nil {
		caller = w.workers[0]
	}
	return w.extraDevice(caller)
}
