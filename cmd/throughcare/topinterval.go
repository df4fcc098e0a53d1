package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// cmdTOPInterval shows the area's TOP review schedule, or sets it
// (admins): --set MONTHS [--window DAYS] or --default (every three months,
// a fortnight either side).
func cmdTOPInterval(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("top-interval", flag.ContinueOnError)
	fs.SetOutput(c.out)
	set := fs.Uint("set", 0, "a review TOP every this many months after the last TOP (1 to 12)")
	window := fs.Uint("window", 0, "days either side of the due day before a review is overdue (default 14)")
	def := fs.Bool("default", false, "back to the default: every 3 months, 14 days either side")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *set != 0 && *def || *window != 0 && *set == 0 {
		return errors.New("usage: throughcare top-interval [--set MONTHS [--window DAYS] | --default]")
	}
	if *set == 0 && !*def {
		area, err := c.adminClient().GetArea(ctx, &v1.GetAreaRequest{})
		if err != nil {
			return err
		}
		fmt.Fprintln(c.out, topScheduleLine(area.GetTopSchedule()))
		return nil
	}
	resp, err := c.adminClient().SetTOPInterval(ctx, &v1.SetTOPIntervalRequest{
		IntervalMonths: uint32(min(*set, 1000)), WindowDays: uint32(min(*window, 1000)), UseDefault: *def})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, topScheduleLine(resp.GetTopSchedule()))
	return nil
}

// topScheduleLine says an area's TOP review schedule.
func topScheduleLine(s *v1.TOPSchedule) string {
	whose := "the default"
	if s.GetOwn() {
		whose = "the area's own"
	}
	return fmt.Sprintf("top-interval: a review TOP every %d months after the last, %d days either side (%s)", s.GetIntervalMonths(), s.GetWindowDays(), whose)
}
