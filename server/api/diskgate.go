package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// SpaceGuard says whether there is room on the disk to write: nil, or an
// error (errkind.Exhausted) telling the caller why not. diskspace.Guard is
// one.
type SpaceGuard interface {
	Room() error
}

// allowedWhenFull are the procedures served on a nearly full disk: every
// read, and keeping a session (signing in, refreshing, signing out,
// revoking a lost device), whose few hundred bytes the threshold's margin
// absorbs, so tablets stay signed in and can still pull. Everything else,
// including any procedure added later, is refused as a write: pushes,
// admin and review changes, enrolment.
var allowedWhenFull = map[string]bool{
	throughcarev1connect.SyncServicePullProcedure:              true,
	throughcarev1connect.SyncServiceSubscribeProcedure:         true,
	throughcarev1connect.AuthServiceBeginLoginProcedure:        true,
	throughcarev1connect.AuthServiceFinishLoginProcedure:       true,
	throughcarev1connect.AuthServiceRefreshProcedure:           true,
	throughcarev1connect.AuthServiceLogoutProcedure:            true,
	throughcarev1connect.AuthServiceListDevicesProcedure:       true,
	throughcarev1connect.AuthServiceRevokeDeviceProcedure:      true,
	throughcarev1connect.AdminServiceGetAreaProcedure:          true,
	throughcarev1connect.AdminServiceListTeamsProcedure:        true,
	throughcarev1connect.AdminServiceListInvitesProcedure:      true,
	throughcarev1connect.AdminServiceListUsersProcedure:        true,
	throughcarev1connect.AdminServiceListClientsProcedure:      true,
	throughcarev1connect.AdminServiceStreamBackupProcedure:     true, // reads; a backup matters most on a full disk
	throughcarev1connect.AdminServiceExportSubjectProcedure:    true,
	throughcarev1connect.AdminServiceListAuditProcedure:        true,
	throughcarev1connect.AdminServiceListUserDevicesProcedure:  true,
	throughcarev1connect.AdminServiceRevokeUserDeviceProcedure: true, // revoking a lost device, as RevokeDevice
	throughcarev1connect.ReviewServiceListContactsProcedure:    true,
	throughcarev1connect.ReviewServiceGetTimelineProcedure:     true,
	throughcarev1connect.ReviewServiceListConflictsProcedure:   true,
	throughcarev1connect.ReviewServiceGetCaseloadProcedure:     true,
	throughcarev1connect.ReviewServiceGetStatisticsProcedure:   true,

	throughcarev1connect.ReviewServiceGetOutcomeMovementProcedure: true,
	throughcarev1connect.ReviewServiceGetOrderReportProcedure:     true, // a read (its audit entry, as every view's)
	throughcarev1connect.ReviewServiceListTOPIssuesProcedure:      true,
}

// spaceGate refuses writing procedures while the guard says the disk is
// nearly full. It is a request gate, so a refused push is never read or
// decompressed; like authGate it logs the calls it refuses itself.
type spaceGate struct {
	guard SpaceGuard
	calls calls
}

func (g spaceGate) gate(ctx context.Context, spec connect.Spec, peer connect.Peer, _ http.Header) (context.Context, error) {
	if allowedWhenFull[spec.Procedure] {
		return ctx, nil
	}
	start := time.Now()
	if err := g.guard.Room(); err != nil {
		if _, known := identity.FromContext(ctx); known {
			err = connectError(ctx, err)
		} else {
			// A stranger (an enrolment) learns nothing of the disk.
			err = connect.NewError(connect.CodeResourceExhausted, errors.New("the server cannot take this request right now; try again later"))
		}
		g.calls.done(ctx, spec, peer.Protocol, start, err)
		return ctx, err
	}
	return ctx, nil
}

// spaceGateOption gates on guard after the caller is known (so strangers
// learn nothing of the disk), or does nothing without a guard.
func spaceGateOption(guard SpaceGuard, c calls) connect.HandlerOption {
	if guard == nil {
		return connect.WithHandlerOptions()
	}
	return connect.WithRequestGate(spaceGate{guard: guard, calls: c}.gate)
}
