package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"syscall"
	"time"
)

// ErrNotRunning is MintAdminInvite's answer when no server serves the data
// directory's socket: the caller may open the store itself.
var ErrNotRunning = errors.New("operator: no server is running on this data directory")

// Invite is an admin invite minted through the socket.
type Invite struct {
	Area      string
	Code      string
	ExpiresAt time.Time
}

// MintAdminInvite asks the server running on dataDir for an admin invite
// for the named area (created if it is new). It returns ErrNotRunning if
// there is no socket or nothing answers on it (a stale one).
func MintAdminInvite(ctx context.Context, dataDir, area string) (Invite, error) {
	path := SocketPath(dataDir)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(inviteRequest{Area: area})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://operator/admin-invite", bytes.NewReader(body))
	if err != nil {
		return Invite{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return Invite{}, ErrNotRunning
	case errors.Is(err, fs.ErrPermission):
		return Invite{}, fmt.Errorf("the operator socket %s: permission denied: run this as the server's user or root", path)
	case err != nil:
		return Invite{}, fmt.Errorf("the operator socket %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to its end or given up: closing loses nothing
	if resp.StatusCode != http.StatusOK {
		var e errorResponse
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
			e.Error = resp.Status
		}
		return Invite{}, fmt.Errorf("the running server refused: %s", e.Error)
	}
	var out inviteResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return Invite{}, fmt.Errorf("the running server's answer: %w", err)
	}
	return Invite(out), nil
}
