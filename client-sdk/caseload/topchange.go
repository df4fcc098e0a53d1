package caseload

import (
	"context"
	"fmt"
	"time"

	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/topchange"
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

// Movement is which way a TOP item moved from the start (the one rule of
// package syncproto/topchange, which the server's reports also use).
type Movement = topchange.Movement

// The movements.
const (
	// MovementUnknown: the item was not answered at the start or at the
	// latest TOP (or there is no later TOP yet).
	MovementUnknown = topchange.Unknown
	// Improved: less use, fewer crime days, no longer a housing problem,
	// better health, more days in work (the item's schema.TOPDirection).
	Improved = topchange.Improved
	// Unchanged: the same score.
	Unchanged = topchange.Unchanged
	// Worsened: the other way.
	Worsened = topchange.Worsened
)

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
// the direction of change (topchange.Episode and topchange.Compare). A
// client with no start TOP is ErrNotFound.
func (d *Device) ChangeFromStart(ctx context.Context, clientID string) (TOPChange, error) {
	reviews, err := d.OutcomeReviews(ctx, clientID)
	if err != nil {
		return TOPChange{}, err
	}
	tops := make([]topchange.TOP, 0, len(reviews))
	live := make([]int, 0, len(reviews))
	for i, r := range reviews {
		if !r.Deleted {
			tops = append(tops, topOf(r))
			live = append(live, i)
		}
	}
	start, latest := topchange.Episode(tops)
	if start < 0 {
		return TOPChange{}, fmt.Errorf("caseload: %w: the client has no start TOP", ErrNotFound)
	}
	var ch TOPChange
	ch.Start = reviews[live[start]]
	var to topchange.TOP
	if latest >= 0 {
		ch.Latest, to = reviews[live[latest]], tops[latest]
	}
	for _, c := range topchange.Compare(tops[start], to) {
		it := c.Item()
		ch.Items = append(ch.Items, TOPItemChange{Item: it.Name, Section: it.Section,
			StartScore: c.Start.Value, LatestScore: c.Latest.Value, StartAnswered: c.Start.Answered, LatestAnswered: c.Latest.Answered,
			Movement: c.Movement})
	}
	return ch, nil
}

// topOf is a TOP as package topchange sees it.
func topOf(r OutcomeReview) topchange.TOP {
	t := topchange.TOP{ID: r.ID, Day: r.InterviewDate.day(), Stage: r.Stage, Scores: make([]topchange.Score, len(schema.TOPItems))}
	for i, it := range schema.TOPItems {
		if a, ok := r.Answers[it.Name]; ok {
			t.Scores[i] = topchange.Score{Value: it.Score(a.Weeks, a.Days, a.Rating, a.Yes), Answered: true}
		}
	}
	return t
}
