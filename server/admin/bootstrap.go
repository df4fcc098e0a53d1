package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
func Bootstrap(ctx context.Context, st store.DirectoryStore, areaName string, now time.Time, ttl time.Duration) (code string, created bool, err error) {
	name, err := cleanName("area name", areaName)
	if err != nil {
		return "", false, err
	}
	code = auth.NewInviteCode()
	in := adminInvite(code, now, ttl)
	err = st.Directory(ctx, func(tx store.DirTx) error {
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
		return putAdminInvite(tx, in, now)
	})
	if err != nil || !created {
		return "", false, storeErr(err)
	}
	return code, true, nil
}

// MintAdminInvite makes a new admin invite for the area with the given name
// (compared ignoring case), creating the area if there is none, and returns
// its code. It is for the operator: `throughcare-server invite-admin`, in
// the running server (package operator) or in a store it opens while the
// server is stopped. ttl <= 0 means DefaultInviteTTL. The invite is
// audited in its transaction (mint_admin_invite, by OperatorRole), as the
// bootstrap invite is.
func MintAdminInvite(ctx context.Context, st store.DirectoryStore, areaName string, now time.Time, ttl time.Duration) (string, error) {
	name, err := cleanName("area name", areaName)
	if err != nil {
		return "", err
	}
	code := auth.NewInviteCode()
	in := adminInvite(code, now, ttl)
	err = st.Directory(ctx, func(tx store.DirTx) error {
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
		return putAdminInvite(tx, in, now)
	})
	if err != nil {
		return "", storeErr(err)
	}
	return code, nil
}

// OperatorRole is the role the audit trail gives the operator, who acts
// without signing in (minting admin invites).
const OperatorRole = "operator"

// BootstrapFile is the name of the file, in the data directory, that holds
// the bootstrap invite until the first admin has enrolled with it.
const BootstrapFile = "bootstrap-invite.txt"

// WriteBootstrapInvite writes a bootstrap invite's code to BootstrapFile in
// dir, readable by its owner only, and returns the file's path.
func WriteBootstrapInvite(dir, code string) (string, error) {
	path := filepath.Join(dir, BootstrapFile)
	if err := os.WriteFile(path, []byte(code+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the bootstrap invite: %w", err)
	}
	return path, nil
}

// RemoveSpentBootstrapInvite deletes BootstrapFile in dir if the invite it
// holds can no longer enrol anyone (used, expired or revoked), and reports
// whether it did. A missing file is not an error. The server calls it on
// start and after each enrolment, so the code does not outlive its use.
func RemoveSpentBootstrapInvite(ctx context.Context, st store.DirectoryStore, dir string) (removed bool, err error) {
	path := filepath.Join(dir, BootstrapFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("reading the bootstrap invite: %w", err)
	}
	live := false
	if code := strings.TrimSpace(string(b)); code != "" {
		err = st.DirectoryView(ctx, func(tx store.DirTx) error {
			_, err := tx.Invite(auth.HashSecret(code))
			live = err == nil
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			return false, storeErr(err)
		}
	}
	if live {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("removing the spent bootstrap invite: %w", err)
	}
	return true, nil
}

// putAdminInvite stores an admin invite the operator made and audits it in
// the same transaction: no signed-in caller (the first start, the local
// socket, or the store opened offline) made an admin's way in.
func putAdminInvite(tx store.DirTx, in *store.Invite, now time.Time) error {
	if err := tx.PutInvite(in); err != nil {
		return err
	}
	// RecordID names the invite (PutInvite gave it its id), so the minting
	// can be matched with the invite's use or revocation.
	return tx.AppendAudit(&store.Audit{At: now.UTC(), AreaID: in.AreaID, Role: OperatorRole, Action: store.AuditMintAdminInvite, RecordID: in.ID})
}

func adminInvite(code string, now time.Time, ttl time.Duration) *store.Invite {
	if ttl <= 0 {
		ttl = DefaultInviteTTL
	}
	return &store.Invite{Hash: auth.HashSecret(code), Role: identity.Admin.String(), DisplayName: BootstrapDisplayName,
		CreatedBy: store.InviteByServer, CreatedAt: now, ExpiresAt: now.Add(ttl)}
}
