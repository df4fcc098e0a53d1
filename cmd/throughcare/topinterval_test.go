package main

import (
	"context"
	"testing"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// fakeTOPArea keeps an area's TOP schedule as the server would.
type fakeTOPArea struct {
	throughcarev1connect.UnimplementedAdminServiceHandler
	sched *v1.TOPSchedule
	last  *v1.SetTOPIntervalRequest
}

func (f *fakeTOPArea) GetArea(context.Context, *v1.GetAreaRequest) (*v1.GetAreaResponse, error) {
	return &v1.GetAreaResponse{Name: "Lambeth", TopSchedule: f.sched}, nil
}

func (f *fakeTOPArea) SetTOPInterval(_ context.Context, req *v1.SetTOPIntervalRequest) (*v1.SetTOPIntervalResponse, error) {
	f.last = req
	f.sched = &v1.TOPSchedule{IntervalMonths: 3, WindowDays: 14}
	if !req.GetUseDefault() {
		f.sched = &v1.TOPSchedule{IntervalMonths: req.GetIntervalMonths(), WindowDays: max(req.GetWindowDays(), 1), Own: true}
	}
	return &v1.SetTOPIntervalResponse{TopSchedule: f.sched}, nil
}

func TestTOPIntervalCommand(t *testing.T) {
	f := &fakeTOPArea{sched: &v1.TOPSchedule{IntervalMonths: 3, WindowDays: 14}}
	for _, tc := range []struct {
		args []string
		want string
		req  *v1.SetTOPIntervalRequest
	}{
		{[]string{"top-interval"}, "top-interval: a review TOP every 3 months after the last, 14 days either side (the default)\n", nil},
		{[]string{"top-interval", "--set", "6", "--window", "21"}, "top-interval: a review TOP every 6 months after the last, 21 days either side (the area's own)\n",
			&v1.SetTOPIntervalRequest{IntervalMonths: 6, WindowDays: 21}},
		{[]string{"top-interval"}, "top-interval: a review TOP every 6 months after the last, 21 days either side (the area's own)\n", nil},
		{[]string{"top-interval", "--default"}, "top-interval: a review TOP every 3 months after the last, 14 days either side (the default)\n",
			&v1.SetTOPIntervalRequest{UseDefault: true}},
	} {
		f.last = nil
		got, err := runCLIWith(t, f, tc.args...)
		if err != nil || got != tc.want {
			t.Errorf("%v printed %q, %v; want %q", tc.args, got, err, tc.want)
		}
		if tc.req != nil && (f.last == nil || f.last.GetIntervalMonths() != tc.req.GetIntervalMonths() ||
			f.last.GetWindowDays() != tc.req.GetWindowDays() || f.last.GetUseDefault() != tc.req.GetUseDefault()) {
			t.Errorf("%v sent %v, want %v", tc.args, f.last, tc.req)
		}
	}
	for _, bad := range [][]string{{"top-interval", "--set", "3", "--default"}, {"top-interval", "--window", "7"},
		{"top-interval", "--set", "-1"}, {"top-interval", "six"}} {
		if _, err := runCLIWith(t, f, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
