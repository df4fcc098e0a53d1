package api

import (
	"context"
	"errors"
	"unicode/utf8"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/auth"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Input bounds of AuthService requests.
const (
	authMaxDeviceName     = 100      // characters
	authMaxCredentialJSON = 64 << 10 // bytes
	authMaxSecretLen      = 256      // bytes: invite codes, refresh tokens
	authMaxIDLen          = 64       // bytes: ceremony and device ids
)

// authHandler adapts the auth service to Connect.
type authHandler struct{ svc *auth.Service }

var _ throughcarev1connect.AuthServiceHandler = (*authHandler)(nil)

// NewAuthHandler serves AuthService with svc.
func NewAuthHandler(svc *auth.Service) throughcarev1connect.AuthServiceHandler {
	return &authHandler{svc: svc}
}

func authInvalid(msg string) error {
	return connect.NewError(connect.CodeInvalidArgument, errors.New(msg))
}

func (h *authHandler) BeginEnrollment(ctx context.Context, req *v1.BeginEnrollmentRequest) (*v1.BeginEnrollmentResponse, error) {
	switch {
	case len(req.GetInviteCode()) > authMaxSecretLen:
		return nil, authInvalid("invite_code is too long")
	case utf8.RuneCountInString(req.GetDeviceName()) > authMaxDeviceName:
		return nil, authInvalid("device_name is longer than 100 characters")
	}
	resp, err := h.svc.BeginEnrollment(ctx, req.GetInviteCode(), req.GetDeviceName())
	return resp, connectError(ctx, err)
}

func (h *authHandler) FinishEnrollment(ctx context.Context, req *v1.FinishEnrollmentRequest) (*v1.FinishEnrollmentResponse, error) {
	if err := authCheckFinish(req.GetCeremonyId(), req.GetCredentialJson()); err != nil {
		return nil, err
	}
	sess, err := h.svc.FinishEnrollment(ctx, req.GetCeremonyId(), req.GetCredentialJson())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.FinishEnrollmentResponse{Session: sess}, nil
}

func (h *authHandler) BeginLogin(ctx context.Context, _ *v1.BeginLoginRequest) (*v1.BeginLoginResponse, error) {
	resp, err := h.svc.BeginLogin(ctx)
	return resp, connectError(ctx, err)
}

func (h *authHandler) FinishLogin(ctx context.Context, req *v1.FinishLoginRequest) (*v1.FinishLoginResponse, error) {
	if err := authCheckFinish(req.GetCeremonyId(), req.GetCredentialJson()); err != nil {
		return nil, err
	}
	switch {
	case req.GetDeviceId() != "" && !schema.ValidID(req.GetDeviceId()):
		return nil, authInvalid("device_id is not a device id")
	case utf8.RuneCountInString(req.GetDeviceName()) > authMaxDeviceName:
		return nil, authInvalid("device_name is longer than 100 characters")
	}
	sess, err := h.svc.FinishLoginWith(ctx, auth.LoginRequest{CeremonyID: req.GetCeremonyId(),
		CredentialJSON: req.GetCredentialJson(), DeviceID: req.GetDeviceId(), DeviceName: req.GetDeviceName()})
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.FinishLoginResponse{Session: sess}, nil
}

func authCheckFinish(ceremonyID, credentialJSON string) error {
	switch {
	case ceremonyID == "":
		return authInvalid("ceremony_id is required")
	case len(ceremonyID) > authMaxIDLen:
		return authInvalid("ceremony_id is too long")
	case credentialJSON == "":
		return authInvalid("credential_json is required")
	case len(credentialJSON) > authMaxCredentialJSON:
		return authInvalid("credential_json is larger than 64 KiB")
	}
	return nil
}

func (h *authHandler) Refresh(ctx context.Context, req *v1.RefreshRequest) (*v1.RefreshResponse, error) {
	switch {
	case req.GetRefreshToken() == "":
		return nil, authInvalid("refresh_token is required")
	case len(req.GetRefreshToken()) > authMaxSecretLen:
		return nil, authInvalid("refresh_token is too long")
	}
	sess, err := h.svc.Refresh(ctx, req.GetRefreshToken())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.RefreshResponse{Session: sess}, nil
}

func (h *authHandler) Logout(ctx context.Context, _ *v1.LogoutRequest) (*v1.LogoutResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.Logout(ctx, id); err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.LogoutResponse{}, nil
}

func (h *authHandler) ListDevices(ctx context.Context, _ *v1.ListDevicesRequest) (*v1.ListDevicesResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	devices, err := h.svc.ListDevices(ctx, id)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.ListDevicesResponse{Devices: devices}, nil
}

func (h *authHandler) RevokeDevice(ctx context.Context, req *v1.RevokeDeviceRequest) (*v1.RevokeDeviceResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case req.GetDeviceId() == "":
		return nil, authInvalid("device_id is required")
	case len(req.GetDeviceId()) > authMaxIDLen:
		return nil, authInvalid("device_id is too long")
	}
	if err := h.svc.RevokeDevice(ctx, id, req.GetDeviceId()); err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.RevokeDeviceResponse{}, nil
}
