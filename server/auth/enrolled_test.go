package auth_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/throughcare/throughcare/server/auth"
)

// Config.Enrolled is called once after each enrolment has committed, and
// never for one refused.
func TestEnrolledHook(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, func(c *auth.Config) { c.Enrolled = func(context.Context) { calls.Add(1) } })
	e.newPerson(t, "worker", teamA, "Sam Worker")
	if n := calls.Load(); n != 1 {
		t.Fatalf("Enrolled called %d times after one enrolment, want 1", n)
	}
	code := e.invite(t, "worker", teamA, "Pat Worker", time.Hour)
	begin, err := e.svc.BeginEnrollment(context.Background(), code, "tablet")
	if err != nil {
		t.Fatal(err)
	}
	_, resp := attest(t, virtualwebauthn.RelyingParty{ID: rpID, Origin: "https://evil.test"}, virtualwebauthn.AuthenticatorOptions{}, begin.GetOptionsJson())
	if _, err := e.svc.FinishEnrollment(context.Background(), begin.GetCeremonyId(), resp); err == nil {
		t.Fatal("an enrolment from the wrong origin succeeded")
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("Enrolled called %d times after a refused enrolment, want still 1", n)
	}
}
