package admin

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

var errNoUserDevice = errkind.E(errkind.NotFound, "no such device of this user")

// ListUserDevices returns the devices of a user of the caller's area
// (admins only: access.ManageDevices), oldest first, revoked ones
// included. A user of another area is NotFound.
func (s *Service) ListUserDevices(ctx context.Context, id *identity.Identity, userID string) ([]*store.Device, error) {
	var out []*store.Device
	err := s.view(ctx, func(tx store.DirTx) error {
		out = nil
		sc, err := access.Resolve(tx, id, access.ManageDevices)
		if err != nil {
			return err
		}
		u, err := sc.Member(tx, userID, "user_id")
		if err != nil {
			return err
		}
		for _, did := range tx.DevicesOfUser(u.ID) {
			d, err := tx.Device(did)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *store.Device) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// RevokeUserDevice revokes a device of a user of the caller's area (admins
// only: access.ManageDevices) as the user could themselves: it can no
// longer sign in and its sessions and streams end at once; revoking a
// passkey's primary device revokes every installation it signed in on.
// Devices audits it (revoke_device, by the admin) in the same
// transaction. A user of another area, or a device not theirs, is
// NotFound; revoking a revoked device again changes nothing.
func (s *Service) RevokeUserDevice(ctx context.Context, id *identity.Identity, userID, deviceID string) error {
	err := s.devices.RevokeDeviceIf(ctx, id, deviceID, func(tx store.DirTx, d *store.Device) error {
		sc, err := access.Resolve(tx, id, access.ManageDevices)
		if err != nil {
			return err
		}
		u, err := sc.Member(tx, userID, "user_id")
		if err != nil {
			return err
		}
		if d == nil || d.UserID != u.ID {
			return errNoUserDevice
		}
		return nil
	})
	if err != nil {
		return storeErr(err)
	}
	s.log.Info().Str("user_id", id.UserID).Str("target_id", userID).Str("device_id", deviceID).Msg("user's device revoked")
	return nil
}
