package main

// The storm's load process (realbench -storm-load): it signs its tablets
// in, brings each up to date, then, when the driver says go, runs the
// measured rounds of reconnects and prints what it saw and the CPU it used.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/e2e/serverproc"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/syncproto/colzstd"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample/peer"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/wire"
	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

// stormJob is what the driver hands the load process.
type stormJob struct {
	URL        string        `json:"url"`
	AdminToken string        `json:"admin_token"`
	Tablets    int           `json:"tablets"`
	Team       int           `json:"team"`   // tablets sharing a team's two clients
	Push       int           `json:"push"`   // changes a reconnect pushes (whole contacts, at least this many)
	Rounds     int           `json:"rounds"` // measured rounds, each tablet reconnecting once a round
	Window     time.Duration `json:"window"` // a round's reconnects arrive spread over this
}

// stormResult is what the load process prints when its rounds are done.
type stormResult struct {
	Latencies []time.Duration `json:"latencies"`  // each reconnect's, push then pull to the end, sorted
	Seconds   float64         `json:"seconds"`    // the measured rounds, start to end
	LoadCPU   time.Duration   `json:"load_cpu"`   // this process's, in the measured rounds
	WireBytes int64           `json:"wire_bytes"` // every response body
	Pushed    int64           `json:"pushed"`     // changes
	Pulled    int64           `json:"pulled"`     // records
	Pages     int64           `json:"pages"`      // pull responses
	SignIn    float64         `json:"sign_in"`    // seconds to enrol and sign in every tablet
	Push      procFigures     `json:"push"`
	PullPages procFigures     `json:"pull_pages"`
}

// stormTablet is one tablet: a worker signed in with its own software
// passkey, on its own HTTP/2 connection, assigned its team's two clients.
type stormTablet struct {
	userID  string
	clients []string
	sync    throughcarev1connect.SyncServiceClient
	pull    *connect.Client[v1.PullRequest, stormPage]
	clock   *hlc.Clock
	seq     uint64
	cursor  []byte
	gen     *peer.Generator
	bodies  *bodyCount
}

// runStormLoad is the load process: job from jobFile, "ready" on out when
// the tablets are up to date, the rounds when a line comes on in, then
// the result as JSON on out.
func runStormLoad(ctx context.Context, jobFile string, in io.Reader, out io.Writer) error {
	var job stormJob
	b, err := os.ReadFile(jobFile)
	if err == nil {
		err = json.Unmarshal(b, &job)
	}
	if err != nil {
		return fmt.Errorf("the storm's job: %w", err)
	}
	wire, bodies := new(atomic.Int64), &bodyCount{}
	start := time.Now()
	tablets, err := stormSignIn(ctx, job, wire, bodies)
	if err != nil {
		return err
	}
	signIn := time.Since(start).Seconds()
	// Up to date, then one unmeasured round so that every cursor is where
	// a round leaves it (a round's pull brings the others' last round).
	if err := eachTablet(tablets, 32, func(t *stormTablet) error { _, _, err := t.pullToEnd(ctx); return err }); err != nil {
		return fmt.Errorf("first sync: %w", err)
	}
	if _, err := stormRound(ctx, tablets, job, nil); err != nil {
		return fmt.Errorf("warm-up round: %w", err)
	}
	pushes := make([][][]*v1.Change, job.Rounds)
	for r := range pushes {
		pushes[r] = make([][]*v1.Change, len(tablets))
		for i, t := range tablets {
			pushes[r][i] = t.changes(job.Push)
		}
	}
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	if _, err := bufio.NewReader(in).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for go: %w", err)
	}
	wire.Store(0)
	bodies.reset()
	res := stormResult{SignIn: signIn}
	cpu0, t0 := selfCPU(), time.Now()
	for r := range job.Rounds {
		st, err := stormRound(ctx, tablets, job, pushes[r])
		if err != nil {
			return fmt.Errorf("round %d: %w", r+1, err)
		}
		res.Latencies = append(res.Latencies, st.latencies...)
		res.Pushed += st.pushed
		res.Pulled += st.pulled
		res.Pages += st.pages
	}
	res.Seconds, res.LoadCPU = time.Since(t0).Seconds(), selfCPU()-cpu0
	res.WireBytes = wire.Load()
	res.Push, res.PullPages = bodies.push.figures(), bodies.pull.figures()
	slices.Sort(res.Latencies)
	return json.NewEncoder(out).Encode(res)
}

// stormSignIn makes a team (and its two clients) for every job.Team
// tablets, and enrols each tablet as a worker of its team with a software
// passkey of its own, assigned the team's clients.
func stormSignIn(ctx context.Context, job stormJob, n *atomic.Int64, bodies *bodyCount) ([]*stormTablet, error) {
	hc := serverproc.H2C()
	admin := throughcarev1connect.NewAdminServiceClient(hc, job.URL, connect.WithInterceptors(servertest.BearerToken(job.AdminToken)))
	teams := (job.Tablets + job.Team - 1) / job.Team
	teamIDs, clients := make([]string, teams), make([][]string, teams)
	for i := range teams {
		t, err := admin.CreateTeam(ctx, &v1.CreateTeamRequest{Name: fmt.Sprintf("Storm of %d, team %d", job.Tablets, i+1)})
		if err != nil {
			return nil, fmt.Errorf("CreateTeam: %w", err)
		}
		teamIDs[i] = t.GetTeam().GetTeamId()
		for range 2 {
			c, err := admin.CreateClient(ctx, &v1.CreateClientRequest{TeamId: teamIDs[i], GivenName: "Storm", FamilyName: "Client", Pathway: "licence"})
			if err != nil {
				return nil, fmt.Errorf("CreateClient: %w", err)
			}
			clients[i] = append(clients[i], c.GetClientId())
		}
	}
	tablets := make([]*stormTablet, job.Tablets)
	for i := range tablets {
		tablets[i] = &stormTablet{clients: clients[i/job.Team], gen: peer.New(uint32(1000 + i)), bodies: bodies}
	}
	err := eachTablet(tablets, 8, func(t *stormTablet) error {
		team := teamIDs[slices.Index(tablets, t)/job.Team]
		inv, err := admin.CreateInvite(ctx, &v1.CreateInviteRequest{Role: v1.Role_ROLE_WORKER, TeamId: team, DisplayName: "Storm tablet"})
		if err != nil {
			return fmt.Errorf("CreateInvite: %w", err)
		}
		own := serverproc.H2C() // the tablet's own connection
		own.Transport = &serverproc.Counting{Next: &bodyCounting{next: own.Transport, c: bodies}, N: n}
		sess, err := enrolPatiently(ctx, throughcarev1connect.NewAuthServiceClient(own, job.URL), job.URL, inv.GetInviteCode())
		if err != nil {
			return fmt.Errorf("enrolling a tablet: %w", err)
		}
		for _, c := range t.clients {
			if _, err := admin.AssignClient(ctx, &v1.AssignClientRequest{ClientId: c, WorkerId: sess.GetUserId()}); err != nil {
				return fmt.Errorf("AssignClient: %w", err)
			}
		}
		bearer := connect.WithInterceptors(servertest.BearerToken(sess.GetAccessToken()))
		t.userID, t.clock = sess.GetUserId(), hlc.NewClock(sess.GetDeviceId(), time.Now, 0)
		// As the SDK: pages column by column where the server has it, else
		// zstd; kept encoded.
		compress := connect.WithClientOptions(zstdwire.ClientOption(), colzstd.ClientOption())
		t.sync = throughcarev1connect.NewSyncServiceClient(own, job.URL, bearer, compress)
		t.pull = connect.NewClient[v1.PullRequest, stormPage](own, job.URL+throughcarev1connect.SyncServicePullProcedure,
			connect.WithCodec(wire.Codec{}), bearer, compress, connect.WithReadMaxBytes(colzstd.DefaultMaxBytes))
		return nil
	})
	return tablets, err
}

// eachTablet runs f on every tablet, at most par at once.
func eachTablet(tablets []*stormTablet, par int, f func(*stormTablet) error) error {
	sem := make(chan struct{}, par)
	errs := make([]error, len(tablets))
	var wg sync.WaitGroup
	for i, t := range tablets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = f(t)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// roundStats is one round's reconnects.
type roundStats struct {
	latencies             []time.Duration
	pushed, pulled, pages int64
}

// stormRound has every tablet reconnect once, at a moment drawn uniformly
// within the job's window: push its changes (pushes[i], or fresh ones
// when pushes is nil), then pull to the end.
func stormRound(ctx context.Context, tablets []*stormTablet, job stormJob, pushes [][]*v1.Change) (roundStats, error) {
	if pushes == nil {
		pushes = make([][]*v1.Change, len(tablets))
		for i, t := range tablets {
			pushes[i] = t.changes(job.Push)
		}
	}
	st := roundStats{latencies: make([]time.Duration, len(tablets))}
	errs := make([]error, len(tablets))
	var pulled, pages atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for i, t := range tablets {
		at := start.Add(time.Duration(rand.Int64N(int64(job.Window))))
		wg.Go(func() {
			select {
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			case <-time.After(time.Until(at)):
			}
			t0 := time.Now()
			recs, pg, err := t.reconnect(ctx, pushes[i])
			st.latencies[i], errs[i] = time.Since(t0), err
			pulled.Add(int64(recs))
			pages.Add(int64(pg))
		})
	}
	wg.Wait()
	for _, p := range pushes {
		st.pushed += int64(len(p))
	}
	st.pulled, st.pages = pulled.Load(), pages.Load()
	return st, errors.Join(errs...)
}

// reconnect pushes chs and pulls to the end: records and pages pulled.
func (t *stormTablet) reconnect(ctx context.Context, chs []*v1.Change) (int, int, error) {
	resp, err := t.sync.Push(ctx, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: schema.Builtin().Version(), Changes: chs})
	if err != nil {
		return 0, 0, fmt.Errorf("push: %w", err)
	}
	for _, r := range resp.GetResults() {
		if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
			return 0, 0, fmt.Errorf("push: a change not applied: %v", r)
		}
	}
	t.bodies.push.raw.Add(int64(proto.Size(resp)))
	return t.pullToEnd(ctx)
}

// pullToEnd pulls pages from the tablet's cursor until none has more.
func (t *stormTablet) pullToEnd(ctx context.Context) (records, pages int, err error) {
	for {
		resp, err := t.pull.CallUnary(ctx, connect.NewRequest(&v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: schema.Builtin().Version(), Cursor: t.cursor}))
		if err != nil {
			return records, pages, fmt.Errorf("pull: %w", err)
		}
		t.cursor = resp.Msg.cursor
		records += resp.Msg.records
		t.bodies.pull.raw.Add(int64(resp.Msg.size))
		pages++
		if !resp.Msg.hasMore {
			return records, pages, nil
		}
	}
}

// changes draws whole peer-workload contacts on the tablet's clients
// until they make at least n changes, stamped as the tablet's device.
func (t *stormTablet) changes(n int) []*v1.Change {
	var out []*v1.Change
	for k := 0; len(out) < n; k++ {
		ct := t.gen.NextContact()
		st := t.clock.Now()
		stamp := &v1.Stamp{Time: st.Time, Replica: st.Replica}
		for _, f := range ct.Fields(t.userID) {
			t.seq++
			out = append(out, &v1.Change{DeviceSeq: t.seq, RecordId: ct.ID, RecordType: "contact", ClientId: t.clients[k%2],
				Field: f.Name, Value: f.Value, Stamp: stamp})
		}
	}
	return out
}

// stormPage is a pull response kept encoded, as the SDK keeps it: the
// envelope read, the records counted, none decoded.
type stormPage struct {
	cursor  []byte
	hasMore bool
	records int
	size    int // its encoding's
}

var errStormPage = errors.New("a malformed pull page")

// UnmarshalRaw reads the page's cursor and has_more and counts its
// records (wire.Codec hands it the page).
func (p *stormPage) UnmarshalRaw(b []byte) error {
	var cursor []byte
	var more uint64
	var bad bool
	err := wire.Each(b, func(num wire.Number, typ wire.Type, b []byte) int {
		switch num {
		case wire.PullResponse.Cursor:
			return wire.Bytes(typ, b, &cursor)
		case wire.PullResponse.HasMore:
			return wire.Varint(typ, b, &more)
		case wire.PullResponse.Buckets:
			var bucket []byte
			n := wire.Bytes(typ, b, &bucket)
			if n > 0 && wire.Each(bucket, func(num wire.Number, typ wire.Type, b []byte) int {
				if num == wire.BucketUpdate.Records {
					var rec []byte
					k := wire.Bytes(typ, b, &rec)
					p.records++
					return k
				}
				return 0
			}) != nil {
				bad = true
			}
			return n
		}
		return 0
	})
	if err != nil || bad {
		return errStormPage
	}
	p.cursor, p.hasMore, p.size = append([]byte(nil), cursor...), more != 0, len(b)
	return nil
}

// bodyCount counts, by procedure (push, pull), the responses, those
// that came compressed, their bytes on the wire and decoded.
type bodyCount struct{ push, pull procCount }

type procCount struct{ responses, compressed, wire, raw atomic.Int64 }

func (b *bodyCount) reset() {
	for _, p := range []*procCount{&b.push, &b.pull} {
		p.responses.Store(0)
		p.compressed.Store(0)
		p.wire.Store(0)
		p.raw.Store(0)
	}
}

// of is the count of the procedure at path (nil for other calls).
func (b *bodyCount) of(path string) *procCount {
	switch path {
	case throughcarev1connect.SyncServicePushProcedure:
		return &b.push
	case throughcarev1connect.SyncServicePullProcedure:
		return &b.pull
	}
	return nil
}

// procFigures is what the load process reports of a procedure.
type procFigures struct {
	Responses  int64 `json:"responses"`
	Compressed int64 `json:"compressed"`
	WireBytes  int64 `json:"wire_bytes"` // response bodies as they came
	RawBytes   int64 `json:"raw_bytes"`  // the messages decoded
}

func (p *procCount) figures() procFigures {
	return procFigures{p.responses.Load(), p.compressed.Load(), p.wire.Load(), p.raw.Load()}
}

// bodyCounting is a transport that counts push and pull responses, those
// with a Content-Encoding (Connect unary's compression) and their bytes.
type bodyCounting struct {
	next http.RoundTripper
	c    *bodyCount
}

func (b *bodyCounting) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(r)
	p := b.c.of(r.URL.Path)
	if err != nil || p == nil {
		return resp, err
	}
	p.responses.Add(1)
	if e := resp.Header.Get("Content-Encoding"); e != "" && !strings.EqualFold(e, "identity") {
		p.compressed.Add(1)
	}
	resp.Body = serverproc.CountBody(resp.Body, &p.wire)
	return resp, nil
}

// enrolPatiently enrols a tablet, waiting and trying again while the
// server's sign-in limits (200 ceremonies a second from all addresses)
// refuse it, as a real client told "try again shortly" does: a thousand
// tablets enrolling at once from one machine pass them.
func enrolPatiently(ctx context.Context, auth throughcarev1connect.AuthServiceClient, url, invite string) (*v1.Session, error) {
	wait := 20 * time.Millisecond
	for try := 1; ; try++ {
		// A new passkey each time: a refused finish leaves the last one made.
		sess, err := passkey.Enrol(ctx, auth, serverproc.Passkey(url), invite, "Storm tablet")
		if connect.CodeOf(err) != connect.CodeResourceExhausted || try == 50 {
			return sess, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
