package admin

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// BootstrapDisplayName is the display name given to a bootstrap or
// operator-minted admin invite.
const BootstrapDisplayName = "Administrator"

// Bootstrap prepares an empty store for its first admin: if the directory
// has no areas it creates the named area and an admin invite for it, and
// returns the invite code (to be shown once) with created set. If any area
// exists it changes nothing and returns created false, so calling it on
// every start creates the area and invite once and only once. ttl <= 0
// means DefaultInviteTTL.
func Bootstrap(ctx context.Context, st *store.DB, areaName string, now time.Time, ttl time.Duration) (code string, created bool, err error) {
	name, err := cleanName("area name", areaName)
	if err != nil {
		return "", false, err
	}
	code = auth.NewInviteCode()
	in := adminInvite(code, now, ttl)
	err = st.Directory(ctx, func(tx *store.DirTx) error {
		created = false
		areas, err := tx.Areas()
		if err != nil || len(areas) > 0 {
			return err
		}
		a := &store.Area{ID: uuid.Must(uuid.NewV7()).String(), Name: name, CreatedAt: now}
		if err := tx.PutArea(a); err != nil {
			return err
		}
		in.AreaID = a.ID
		created = true
		return tx.PutInvite(in)
	})
	if err != nil || !created {
		return "", false, storeErr(err)
	}
	return code, true, nil
}

// MintAdminInvite makes a new admin invite for the area with the given name
// (compared ignoring case), creating the area if there is none, and returns
// its code. It is for an operator command run while the server is stopped
// (a Badger store admits one process). ttl <= 0 means DefaultInviteTTL.
func MintAdminInvite(ctx context.Context, st *store.DB, areaName string, now time.Time, ttl time.Duration) (string, error) {
	name, err := cleanName("area name", areaName)
	if err != nil {
		return "", err
	}
	code := auth.NewInviteCode()
	in := adminInvite(code, now, ttl)
	err = st.Directory(ctx, func(tx *store.DirTx) error {
		areas, err := tx.Areas()
		if err != nil {
			return err
		}
		var found *store.Area
		for _, a := range areas {
			if strings.EqualFold(a.Name, name) {
				if found != nil {
					return errors.New("admin: several areas have this name")
				}
				found = a
			}
		}
		if found == nil {
			found = &store.Area{ID: uuid.Must(uuid.NewV7()).String(), Name: name, CreatedAt: now}
			if err := tx.PutArea(found); err != nil {
				return err
			}
		}
		in.AreaID = found.ID
		return tx.PutInvite(in)
	})
	if err != nil {
		return "", storeErr(err)
	}
	return code, nil
}

func adminInvite(code string, now time.Time, ttl time.Duration) *store.Invite {
	if ttl <= 0 {
		ttl = DefaultInviteTTL
	}
	return &store.Invite{Hash: auth.HashSecret(code), Role: identity.Admin.String(), DisplayName: BootstrapDisplayName,
		CreatedBy: store.InviteByServer, CreatedAt: now, ExpiresAt: now.Add(ttl)}
}
