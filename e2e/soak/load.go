package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/e2e/serverproc"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// clientsPerWorker is how many clients each worker tablet logs contacts for.
const clientsPerWorker = 5

// load is the soak's tablets: workers that log contacts and sync, and
// supervisors of their teams following the live stream.
type load struct {
	o           options
	workers     []*worker
	supervisors []*caseload.Device
	admin       *adminSession // takes the backups (backups.go)
}

type worker struct {
	dev     *caseload.Device
	clients []string
}

// stats counts what the load did.
type stats struct {
	contacts, syncs, errors int64
	firstErr                error
	// kinds counts the failures by kind (Connect code and message).
	kinds map[string]int
}

// errKind names a failure for the report: its Connect code and the start
// of its message (the soak's data is made up: nothing personal).
func errKind(err error) string {
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120] + "…"
	}
	return connect.CodeOf(err).String() + ": " + msg
}

// setUp enrols the bootstrap admin, creates a team per supervisor (at least
// one), its clients and workers, and enrols every tablet (in memory: only
// the server's memory is measured).
func setUp(ctx context.Context, s *serverproc.Server, o options) (*load, error) {
	invite, err := s.BootstrapInvite()
	if err != nil {
		return nil, err
	}
	hc := serverproc.H2C()
	sess, err := passkey.Enrol(ctx, throughcarev1connect.NewAuthServiceClient(hc, s.URL), serverproc.Passkey(s.URL), invite, "Admin laptop")
	if err != nil {
		return nil, fmt.Errorf("enrolling the admin: %w", err)
	}
	admin := throughcarev1connect.NewAdminServiceClient(hc, s.URL, connect.WithInterceptors(servertest.BearerToken(sess.GetAccessToken())))
	l := &load{o: o, admin: &adminSession{url: s.URL, sess: sess}}
	teams := make([]string, max(o.live, 1))
	for i := range teams {
		t, err := admin.CreateTeam(ctx, &v1.CreateTeamRequest{Name: fmt.Sprintf("Outreach %d", i+1)})
		if err != nil {
			return nil, fmt.Errorf("CreateTeam: %w", err)
		}
		teams[i] = t.GetTeam().GetTeamId()
	}
	enrol := func(role v1.Role, team string) (*caseload.Device, error) {
		enc := make([]byte, 32)
		rand.Read(enc)
		dev, err := caseload.Open(caseload.Config{InMemory: true, Key: enc, Server: s.URL, HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		inv, err := admin.CreateInvite(ctx, &v1.CreateInviteRequest{Role: role, TeamId: team, DisplayName: "Soak tablet"})
		if err == nil {
			err = dev.Enrol(ctx, serverproc.Passkey(s.URL), inv.GetInviteCode(), "Soak tablet")
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("enrolling a tablet: %w", err), dev.Close())
		}
		return dev, nil
	}
	for i := range o.workers {
		team := teams[i%len(teams)]
		dev, err := enrol(v1.Role_ROLE_WORKER, team)
		if err != nil {
			l.close()
			return nil, err
		}
		w := &worker{dev: dev}
		l.workers = append(l.workers, w)
		for range clientsPerWorker {
			c, err := admin.CreateClient(ctx, &v1.CreateClientRequest{TeamId: team, GivenName: "Soak", FamilyName: "Client", Pathway: "licence"})
			if err == nil {
				_, err = admin.AssignClient(ctx, &v1.AssignClientRequest{ClientId: c.GetClientId(), WorkerId: dev.UserID()})
			}
			if err != nil {
				l.close()
				return nil, fmt.Errorf("a client: %w", err)
			}
			w.clients = append(w.clients, c.GetClientId())
		}
		if _, err := dev.Sync(ctx); err != nil { // the clients reach the tablet
			l.close()
			return nil, fmt.Errorf("first sync: %w", err)
		}
	}
	for i := range o.live {
		dev, err := enrol(v1.Role_ROLE_SUPERVISOR, teams[i])
		if err != nil {
			l.close()
			return nil, err
		}
		l.supervisors = append(l.supervisors, dev)
	}
	return l, nil
}

// drive runs the load until ctx ends; the channel gets its stats then.
func (l *load) drive(ctx context.Context) <-chan stats {
	var st stats
	var contacts, syncs, fails atomic.Int64
	var once sync.Once
	var mu sync.Mutex
	st.kinds = map[string]int{}
	fail := func(err error) {
		if err != nil && ctx.Err() == nil {
			fails.Add(1)
			once.Do(func() { st.firstErr = err })
			mu.Lock()
			st.kinds[errKind(err)]++
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for _, sup := range l.supervisors {
		wg.Go(func() {
			err := sup.Run(ctx, caseload.RunOptions{Live: true, MaxBackoff: time.Second, OnError: fail})
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				fail(err)
			}
		})
	}
	for _, w := range l.workers {
		wg.Go(func() { w.loop(ctx, l.o, &contacts, &syncs, fail) })
	}
	out := make(chan stats, 1)
	go func() {
		wg.Wait()
		st.contacts, st.syncs, st.errors = contacts.Load(), syncs.Load(), fails.Load()
		out <- st
	}()
	return out
}

// loop logs o.batch contacts, syncs, pauses, until ctx ends.
func (w *worker) loop(ctx context.Context, o options, contacts, syncs *atomic.Int64, fail func(error)) {
	for n := 0; ctx.Err() == nil; n++ {
		for i := range o.batch {
			_, err := w.dev.LogContact(ctx, w.clients[(n+i)%len(w.clients)], caseload.Contact{
				OccurredAt: time.Now().Add(-time.Hour), Category: "general", Mode: "phone",
				Outcome: "Checked in", Notes: "Talked through the week ahead and the next appointment.", DurationMinutes: 20})
			if err != nil {
				fail(err)
				return
			}
		}
		if _, err := w.dev.Sync(ctx); err != nil {
			fail(err)
		} else {
			contacts.Add(int64(o.batch))
			syncs.Add(1)
		}
		select {
		case <-ctx.Done():
		case <-time.After(o.pause):
		}
	}
}

// close closes the tablets. They are in memory and what they wrote is on
// the server the soak measures, so an error closing one loses nothing.
func (l *load) close() {
	for _, w := range l.workers {
		_ = w.dev.Close()
	}
	for _, s := range l.supervisors {
		_ = s.Close()
	}
}
