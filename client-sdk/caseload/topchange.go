package caseload

import (
	"context"
	"fmt"
	"time"

	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// NextTOP says which TOP a client on the device needs next under the
// area's schedule (the zero Schedule is the default: reviews every three
// months, a fortnight either side) and where it stands on today.
func (d *Device) NextTOP(ctx context.Context, clientID string, s topschedule.Schedule, today time.Time) (topschedule.Next, error) {
	tl, err := d.Timeline(ctx, clientID)
	if err != nil {
		return topschedule.Next{}, err
	}
	return s.NextTOP(scheduleOf(tl.Client, tl.OutcomeReviews), today), nil
}

// Movement is which way a TOP item moved from the start.
type Movement int

const (
	// MovementUnknown: the item was not answered at the start or at the
	// latest TOP (or there is no later TOP yet).
	MovementUnknown Movement = iota
	// Improved: less use, fewer crime days, no longer a housing problem,
	// better health, more days in work (the item's schema.TOPDirection).
	Improved
	// Unchanged: the same score.
	Unchanged
	// Worsened: the other way.
	Worsened
)

var movementNames = [...]string{"unknown", "improved", "unchanged", "worsened"}

func (m Movement) String() string {
	if int(m) < len(movementNames) {
		return movementNames[m]
	}
	return fmt.Sprintf("Movement(%d)", int(m))
}

// TOPChange is how a client's answers moved from the start of their
// treatment episode to their latest TOP.
type TOPChange struct {
	// Start is the episode's start TOP: the newest start TOP on or before
	// Latest's interview. Latest is the newest TOP at a later stage
	// (review, exit, post-treatment exit); its ID is empty when the
	// client has had none since the start.
	Start, Latest OutcomeReview
	// Items are every TOP item, in schema.TOPItems' order.
	Items []TOPItemChange
}

// TOPItemChange is one item's movement. Scores are schema.TOPItem.Score:
// days over the 28, a rating, or 1 for yes and 0 for no.
type TOPItemChange struct {
	Item, Section                 string
	StartScore, LatestScore       int
	StartAnswered, LatestAnswered bool
	Movement                      Movement
}

// ChangeFromStart returns, for a client on the device, each TOP item at the
// start of the current treatment episode and at the latest TOP since, with
// the direction of change. A client with no start TOP is ErrNotFound.
func (d *Device) ChangeFromStart(ctx context.Context, clientID string) (TOPChange, error) {
	reviews, err := d.OutcomeReviews(ctx, clientID)
	if err != nil {
		return TOPChange{}, err
	}
	var ch TOPChange
	start, latest := -1, -1
	for i, r := range reviews { // oldest first
		switch {
		case r.Deleted:
		case r.Stage == "start":
			start, latest = i, -1 // a new episode
		case start >= 0:
			latest = i
		}
	}
	if start < 0 {
		return TOPChange{}, fmt.Errorf("caseload: %w: the client has no start TOP", ErrNotFound)
	}
	ch.Start = reviews[start]
	if latest >= 0 {
		ch.Latest = reviews[latest]
	}
	for _, it := range schema.TOPItems {
		c := TOPItemChange{Item: it.Name, Section: it.Section}
		c.StartScore, c.StartAnswered = scoreOf(it, ch.Start)
		c.LatestScore, c.LatestAnswered = scoreOf(it, ch.Latest)
		c.Movement = movement(it, c)
		ch.Items = append(ch.Items, c)
	}
	return ch, nil
}

func scoreOf(it schema.TOPItem, r OutcomeReview) (int, bool) {
	a, ok := r.Answers[it.Name]
	if !ok {
		return 0, false
	}
	return it.Score(a.Weeks, a.Days, a.Rating, a.Yes), true
}

func movement(it schema.TOPItem, c TOPItemChange) Movement {
	switch {
	case !c.StartAnswered || !c.LatestAnswered:
		return MovementUnknown
	case c.LatestScore == c.StartScore:
		return Unchanged
	case (c.LatestScore > c.StartScore) == (it.Better == schema.TOPHigherBetter):
		return Improved
	}
	return Worsened
}
