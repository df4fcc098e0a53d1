package review

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// The movement benchmark reads a supervisor's reach of 1,000 clients (the
// caseload benchmarks' shape: 100 contacts and 20 appointments each) with
// 4 TOPs each (start, two reviews, then a review or an exit, 12 weeks
// apart), every item answered but one in ten, the latest TOP of every
// client in the default period: the whole reach is compared.
const movementBenchTOPs = 4

var (
	movementOnce sync.Once
	movementData *benchEnv
	movementErr  error
)

func movementSeed(b *testing.B) *benchEnv {
	b.Helper()
	movementOnce.Do(func() {
		movementData, movementErr = seedBench(caseloadBenchClients, caseloadBenchContacts, caseloadBenchAppointments)
		if movementErr == nil {
			movementErr = seedTOPs(movementData)
		}
	})
	if movementErr != nil {
		b.Fatal(movementErr)
	}
	return movementData
}

// seedTOPs pushes movementBenchTOPs TOPs for every client in the
// supervisor's reach from one tablet, the last of them in the 28 days
// before the clock.
func seedTOPs(env *benchEnv) error {
	ctx := context.Background()
	st, ok := env.svc.st.(syncengine.Buckets)
	if !ok {
		return fmt.Errorf("the bench store %T takes no pushes", env.svc.st)
	}
	now := env.svc.now()
	dev := sample.NewDevice(newID(), env.svc.now, 9100)
	rng := rand.New(rand.NewPCG(15, 15))
	var batch []*v1.Change
	flush := func() error {
		res, err := syncengine.Apply(ctx, st, &syncengine.Batch{UserID: dev.UserID, DeviceID: dev.ID, ReceivedAt: now, Changes: batch})
		if err != nil {
			return err
		}
		for i, r := range res.Results {
			if r.Verdict != v1.Verdict_VERDICT_APPLIED {
				return fmt.Errorf("TOP change %d: %v", i, r.Verdict)
			}
		}
		batch = batch[:0]
		return nil
	}
	for i, c := range env.sup.Buckets {
		start := now.AddDate(0, 0, -28*(3*(movementBenchTOPs-1)+1)+i%28)
		for n := range movementBenchTOPs {
			stage := "review"
			switch {
			case n == 0:
				stage = "start"
			case n == movementBenchTOPs-1 && i%2 == 1:
				stage = "exit"
			}
			chs := benchTOP(dev, rng, c, start.AddDate(0, 0, 84*n), stage)
			if len(batch)+len(chs) > 3000 {
				if err := flush(); err != nil {
					return err
				}
			}
			batch = append(batch, chs...)
		}
	}
	return flush()
}

// benchTOP is a TOP of a client taken on day at stage: every item
// answered with a random score in its range, but one in ten items not
// answered.
func benchTOP(dev *sample.Device, rng *rand.Rand, client string, day time.Time, stage string) []*v1.Change {
	fields := []sample.Field{
		{Name: "interview_date", Value: sample.Date(day.Year(), int(day.Month()), day.Day())},
		{Name: "stage", Value: sample.Str(stage)}, {Name: "author", Value: sample.Str(dev.UserID)},
	}
	for _, it := range schema.TOPItems {
		if rng.IntN(10) == 0 {
			fields = append(fields, sample.Field{Name: "not_answered", Value: sample.Add(it.Name)})
			continue
		}
		switch it.Kind {
		case schema.TOPWeeklyDays:
			for w := 1; w <= 4; w++ {
				fields = append(fields, sample.Field{Name: it.WeekField(w), Value: sample.Int(rng.Int64N(schema.TOPWeekDays + 1))})
			}
		case schema.TOPDays:
			fields = append(fields, sample.Field{Name: it.Name + "_days", Value: sample.Int(rng.Int64N(schema.TOPPeriodDays + 1))})
		case schema.TOPRating:
			fields = append(fields, sample.Field{Name: it.Name, Value: sample.Int(rng.Int64N(schema.TOPRatingMax + 1))})
		case schema.TOPYesNo:
			fields = append(fields, sample.Field{Name: it.Name, Value: sample.Bool(rng.IntN(2) == 0)})
		}
	}
	return dev.Record("outcome_review", dev.NewID(), client, fields)
}

// BenchmarkGetOutcomeMovement is the team outcome-movement report of a
// supervisor over 1,000 clients with 4 TOPs each, for the default period
// (the last 12 weeks), audited as the page is.
func BenchmarkGetOutcomeMovement(b *testing.B) {
	env := movementSeed(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := env.svc.GetOutcomeMovement(ctx, env.sup, &v1.GetOutcomeMovementRequest{})
		if err != nil {
			b.Fatal(err)
		}
		if resp.GetClients() != caseloadBenchClients || resp.GetCompared() != caseloadBenchClients || len(resp.GetFigures()) != len(measures) {
			b.Fatalf("clients %d compared %d figures %d", resp.GetClients(), resp.GetCompared(), len(resp.GetFigures()))
		}
		if f := resp.GetFigures()[0]; f.GetBase()+f.GetNotAnswered() == 0 || f.GetBase()+f.GetNotAnswered() > caseloadBenchClients {
			b.Fatalf("first figure %v", f)
		}
	}
	b.ReportMetric(caseloadBenchClients, "clients")
}
