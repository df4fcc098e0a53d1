package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/e2e/serverproc"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample/peer"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// pusher is one supervisor's session, standing for one of the workload's
// workers: it pushes that worker's contacts as its own device would.
type pusher struct {
	key    *software.Key // synced: the tablet signs in with it
	userID string
	sync   throughcarev1connect.SyncServiceClient
	clock  *hlc.Clock // stamps carry the session's device id
	seq    uint64     // the device's last device_seq
}

// team is what setUp made: the clients (by the workload's client
// index) and a pusher per workload worker.
type team struct {
	clients    []string
	pushers    []*pusher
	adminToken string // the admin's access token (the storm's load process sets its tablets up with it)
}

// setUp enrols the bootstrap admin, creates a team, a client per workload
// client and a supervisor per workload worker (a supervisor's caseload is
// the whole team, and a contact's author must be the user who pushes it).
func setUp(ctx context.Context, s *serverproc.Server, hc *http.Client, g *peer.Generator) (*team, error) {
	invite, err := s.BootstrapInvite()
	if err != nil {
		return nil, err
	}
	auth := throughcarev1connect.NewAuthServiceClient(hc, s.URL)
	sess, err := passkey.Enrol(ctx, auth, serverproc.Passkey(s.URL), invite, "Admin laptop")
	if err != nil {
		return nil, fmt.Errorf("enrolling the admin: %w", err)
	}
	admin := throughcarev1connect.NewAdminServiceClient(hc, s.URL, connect.WithInterceptors(servertest.BearerToken(sess.GetAccessToken())))
	t, err := admin.CreateTeam(ctx, &v1.CreateTeamRequest{Name: "Outreach"})
	if err != nil {
		return nil, fmt.Errorf("CreateTeam: %w", err)
	}
	teamID := t.GetTeam().GetTeamId()
	c := &team{adminToken: sess.GetAccessToken()}
	for range g.Clients {
		r, err := admin.CreateClient(ctx, &v1.CreateClientRequest{TeamId: teamID, GivenName: "Bench", FamilyName: "Client", Pathway: "licence"})
		if err != nil {
			return nil, fmt.Errorf("CreateClient: %w", err)
		}
		c.clients = append(c.clients, r.GetClientId())
	}
	for range g.Workers {
		inv, err := admin.CreateInvite(ctx, &v1.CreateInviteRequest{Role: v1.Role_ROLE_SUPERVISOR, TeamId: teamID, DisplayName: "Bench supervisor"})
		if err != nil {
			return nil, fmt.Errorf("CreateInvite: %w", err)
		}
		key := serverproc.Passkey(s.URL)
		ss, err := passkey.Enrol(ctx, auth, key, inv.GetInviteCode(), "Bench tablet")
		if err != nil {
			return nil, fmt.Errorf("enrolling a supervisor: %w", err)
		}
		c.pushers = append(c.pushers, &pusher{
			key: key, userID: ss.GetUserId(),
			sync:  throughcarev1connect.NewSyncServiceClient(hc, s.URL, connect.WithInterceptors(newSession(auth, ss).interceptor())),
			clock: hlc.NewClock(ss.GetDeviceId(), time.Now, 0),
		})
	}
	return c, nil
}

// changes turns a contact into its changes, one stamp for the record.
func (p *pusher) changes(clientID string, ct peer.Contact) []*v1.Change {
	st := p.clock.Now()
	stamp := &v1.Stamp{Time: st.Time, Replica: st.Replica}
	fields := ct.Fields(p.userID)
	out := make([]*v1.Change, 0, len(fields))
	for _, f := range fields {
		p.seq++
		out = append(out, &v1.Change{DeviceSeq: p.seq, RecordId: ct.ID, RecordType: "contact", ClientId: clientID,
			Field: f.Name, Value: f.Value, Stamp: stamp})
	}
	return out
}

// push sends one batch and checks every change was applied.
func (p *pusher) push(ctx context.Context, batch []*v1.Change) error {
	resp, err := p.sync.Push(ctx, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: schema.Builtin().Version(), Changes: batch})
	if err != nil {
		return fmt.Errorf("seeding push: %w", err)
	}
	for _, r := range resp.GetResults() {
		if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
			return fmt.Errorf("seeding push: a change not applied: %v", r)
		}
	}
	return nil
}

// ingest is what seeding measured.
type ingest struct {
	contacts, changes int64
	took              time.Duration
	// late is the changes/s from 80% to 90% of the contacts in: the store
	// near its full size, before the pushes of the last, partly filled
	// batches (one per pusher) at the end.
	late float64
	// serverCPU and driverCPU are the CPU the server and this process
	// used while seeding (on 2 shared cores the driver's is not free).
	serverCPU, driverCPU time.Duration
	// afterCPU is the server's CPU in the first rest after seeding
	// (options.idle); compacting its memory at the end of it.
	afterCPU   time.Duration
	compacting serverproc.Sample
	// settleTook and settleCPU are how long the server took to come to
	// rest after that (settler), and the CPU it used; settled is false if
	// it did not within options.settle.
	settleTook, settleCPU time.Duration
	settled               bool
}

// seed draws size contacts and pushes each from its worker's pusher, in
// batches of batch contacts, at most pushers pushes at once (each pusher
// pushes in order: its device_seq runs on from push to push). at80 is
// called once, when 80% of the contacts are in, with the time that took.
func seed(ctx context.Context, c *team, g *peer.Generator, size, batch, pushers int, at80 func(time.Duration)) (ingest, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, pushers)
	queues := make([]chan []*v1.Change, len(c.pushers))
	var wg sync.WaitGroup
	var done, changes atomic.Int64
	var mu sync.Mutex
	var marks [2]mark // when 80% and 90% of the contacts were in
	start := time.Now()
	for i, p := range c.pushers {
		queues[i] = make(chan []*v1.Change, 1)
		wg.Go(func() {
			for b := range queues[i] {
				if ctx.Err() != nil {
					continue
				}
				sem <- struct{}{}
				err := p.push(ctx, b)
				<-sem
				if err != nil {
					cancel(err)
					continue
				}
				n := changes.Add(int64(len(b)))
				d := done.Add(int64(countRecords(b)))
				mu.Lock()
				for i, pct := range []int64{80, 90} {
					if marks[i].at.IsZero() && d >= int64(size)*pct/100 {
						marks[i] = mark{time.Now(), n}
						if pct == 80 {
							at80(marks[i].at.Sub(start))
						}
					}
				}
				mu.Unlock()
			}
		})
	}
	pending := make([][]*v1.Change, len(c.pushers))
	counts := make([]int, len(c.pushers))
	for range size {
		ct := g.NextContact()
		w := ct.Worker
		pending[w] = append(pending[w], c.pushers[w].changes(c.clients[ct.Client], ct)...)
		if counts[w]++; counts[w] == batch {
			queues[w] <- pending[w]
			pending[w], counts[w] = nil, 0
		}
	}
	for w, q := range queues {
		if len(pending[w]) > 0 {
			q <- pending[w]
		}
		close(q)
	}
	wg.Wait()
	end := time.Now()
	if err := context.Cause(ctx); err != nil {
		return ingest{}, err
	}
	in := ingest{contacts: done.Load(), changes: changes.Load(), took: end.Sub(start)}
	if d := marks[1].at.Sub(marks[0].at).Seconds(); d > 0 {
		in.late = float64(marks[1].changes-marks[0].changes) / d
	}
	return in, nil
}

// mark is when a share of the contacts was in, and the changes by then.
type mark struct {
	at      time.Time
	changes int64
}

// countRecords counts the records a batch's changes make (each record's
// changes are adjacent).
func countRecords(b []*v1.Change) int {
	n := 0
	for i, ch := range b {
		if i == 0 || ch.GetRecordId() != b[i-1].GetRecordId() {
			n++
		}
	}
	return n
}
