package api

import (
	"context"

	"github.com/throughcare/throughcare/server/admin"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The area's TOP review schedule: AdminService.SetTOPInterval, and
// GetArea's top_schedule.

func (h *adminHandler) SetTOPInterval(ctx context.Context, req *v1.SetTOPIntervalRequest) (*v1.SetTOPIntervalResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	months, window := int(min(req.GetIntervalMonths(), 1000)), int(min(req.GetWindowDays(), 1000))
	s, err := h.svc.SetTOPInterval(ctx, id, months, window, req.GetUseDefault())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.SetTOPIntervalResponse{TopSchedule: topScheduleMsg(s)}, nil
}

// topScheduleMsg is an area's TOP schedule on the wire.
func topScheduleMsg(s admin.TOPSchedule) *v1.TOPSchedule {
	return &v1.TOPSchedule{IntervalMonths: uint32(s.IntervalMonths), WindowDays: uint32(s.WindowDays), Own: s.Own}
}
