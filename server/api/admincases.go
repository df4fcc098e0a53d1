package api

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func (h *adminHandler) CloseClient(ctx context.Context, req *v1.CloseClientRequest) (*v1.CloseClientResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"client_id", req.GetClientId(), adminMaxIDBytes}); err != nil {
		return nil, err
	}
	if err := h.svc.CloseClient(ctx, id, req.GetClientId()); err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.CloseClientResponse{}, nil
}

func (h *adminHandler) ListUserDevices(ctx context.Context, req *v1.ListUserDevicesRequest) (*v1.ListUserDevicesResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"user_id", req.GetUserId(), adminMaxIDBytes}); err != nil {
		return nil, err
	}
	devices, err := h.svc.ListUserDevices(ctx, id, req.GetUserId())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	resp := &v1.ListUserDevicesResponse{Devices: make([]*v1.Device, 0, len(devices))}
	for _, d := range devices {
		resp.Devices = append(resp.Devices, &v1.Device{DeviceId: d.ID, Name: d.Name, CreatedAt: optTime(d.CreatedAt),
			LastUsedAt: optTime(d.LastUsedAt), RevokedAt: optTime(d.RevokedAt)})
	}
	return resp, nil
}

func (h *adminHandler) RevokeUserDevice(ctx context.Context, req *v1.RevokeUserDeviceRequest) (*v1.RevokeUserDeviceResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"user_id", req.GetUserId(), adminMaxIDBytes},
		adminBound{"device_id", req.GetDeviceId(), adminMaxIDBytes}); err != nil {
		return nil, err
	}
	if err := h.svc.RevokeUserDevice(ctx, id, req.GetUserId(), req.GetDeviceId()); err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.RevokeUserDeviceResponse{}, nil
}

// optTime is a timestamp, or nil for the zero time (never happened).
func optTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
