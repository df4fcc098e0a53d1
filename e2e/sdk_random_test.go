package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
)

var (
	randomSeed  = flag.Uint64("e2e.seed", 0, "TestSDKRandomSchedule: the schedule's seed (0: from the clock; logged)")
	randomSteps = flag.Int("e2e.steps", 60, "TestSDKRandomSchedule: how many steps the schedule has")
)

// actor is one device of the random schedule and what it wrote.
type actor struct {
	name         string
	d            *device
	worker       bool
	offlineUntil int // the device does not sync before this step
	// maxSync is the longest a sync of this device took. The device's clock
	// is the server's as learned from its answers, which it reads some time
	// after the server stamped them, so the device's stamps may lag the
	// server's clock by up to this much.
	maxSync  time.Duration
	contacts []madeContact
	edits    []madeEdit
}

// madeContact is a contact a device logged; accepted is what the server
// should decide (the author held the client when it was made).
type madeContact struct {
	step     int
	at       window // when LogContact ran
	client   string
	c        caseload.Contact
	accepted bool
}

type madeEdit struct {
	step          int
	at            window
	client, field string
	value         string
	accepted      bool
}

// A seeded random schedule of a team's work through a faulty network: a
// supervisor and four workers log contacts and edit clients, sync or stay
// offline, while the admin moves clients between workers. When the faults
// stop and everything has synced, every device agrees with a fresh device
// on every client it holds, every change made is either on the server or
// refused with a reason (refused exactly when made after the client was
// taken away, or, for an edit of the client record, when it reached the
// server after), and nothing is left pending.
//
// Replay a failure with -e2e.seed=N; run longer with -e2e.steps=N.
func TestSDKRandomSchedule(t *testing.T) {
	seed := *randomSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	steps := *randomSteps
	t.Logf("seed %d, %d steps (replay with -e2e.seed=%d -e2e.steps=%d)", seed, steps, seed, steps)
	var trace []string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("schedule of seed %d:\n  %s", seed, strings.Join(trace, "\n  "))
			t.Logf("FAILED with -e2e.seed=%d -e2e.steps=%d", seed, steps)
		}
	})
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("seed %d: "+format, append([]any{seed}, args...)...)
	}
	fatalf := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: "+format, append([]any{seed}, args...)...)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ctx := context.Background()

	s := startServer(t)
	proxy := newFaultProxy(t, s.URL, seed)
	a := newArea(t, s)
	a.url = proxy.URL
	team := a.team("Wandsworth Outreach")
	sup := &actor{name: "supervisor", d: a.enrol(v1.Role_ROLE_SUPERVISOR, team)}
	var workers []*actor
	for i := range 4 {
		workers = append(workers, &actor{name: fmt.Sprintf("worker%d", i), d: a.enrol(v1.Role_ROLE_WORKER, team), worker: true})
	}
	actors := append([]*actor{sup}, workers...)
	var clients []string
	assigned := map[string]*actor{} // client → its worker, as the admin last set it
	// lastAssigned is the step at which a client was last assigned to a
	// worker (-1: at the start). Work made without access is refused,
	// unless the worker got the client back before the work was pushed:
	// the server then accepts it (it checks the access periods only for
	// clients the worker no longer holds).
	lastAssigned := map[[2]string]int{}
	regained := func(client string, x *actor, step int) bool {
		at, ok := lastAssigned[[2]string{client, x.name}]
		return ok && at > step
	}
	// moved holds when the admin's calls that gave a worker a client or
	// took it away ran. Work stamped so close to one of them that the
	// device's clock lag could put it on either side may go either way.
	moved := map[[2]string][]window{}
	// takenAt holds the steps at which the admin took a client from a
	// worker. A client edit the worker made before, if it reached the
	// server only after, is refused: late work may not touch the client
	// record. Whether it got there before cannot be told through the
	// faults, so such an edit may go either way.
	takenAt := map[[2]string][]int{}
	takenAfter := func(client string, x *actor, step int) bool {
		return slices.ContainsFunc(takenAt[[2]string{client, x.name}], func(at int) bool { return at > step })
	}
	nearMove := func(client string, x *actor, at window) bool {
		for _, m := range moved[[2]string{client, x.name}] {
			if !m.to.Before(at.from.Add(-x.maxSync-time.Millisecond)) && !m.from.After(at.to) {
				return true
			}
		}
		return false
	}
	timedSync := func(x *actor) (caseload.SyncReport, error) {
		start := time.Now()
		rep, err := x.d.Sync(ctx)
		x.maxSync = max(x.maxSync, time.Since(start))
		return rep, err
	}
	for i := range 6 {
		c := a.client(team, fmt.Sprintf("Client%d", i), "Random")
		w := workers[i%len(workers)]
		a.assign(c, w.d)
		clients = append(clients, c)
		assigned[c] = w
		lastAssigned[[2]string{c, w.name}] = -1
	}
	for _, x := range actors {
		if _, err := timedSync(x); err != nil {
			fatalf("first sync of %s: %v", x.name, err)
		}
	}

	proxy.Set(Faults{DropRequest: 0.1, DropResponse: 0.15, Duplicate: 0.15, Delay: 0.2, MaxDelay: 15 * time.Millisecond})
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	providers := []string{"Wandsworth Recovery Service", "Change Grow Live", "Turning Point", "St Mungo's"}
	clientEdit := func(step int, by *actor) (field, value string) {
		switch rng.IntN(4) {
		case 0:
			return "housing_status", pick(schema.HousingStatuses)
		case 1:
			return "ete_status", pick(schema.ETEStatuses)
		case 2:
			return "treatment_provider", pick(providers)
		}
		return "keyworker_notes", fmt.Sprintf("Step %d: note by %s.", step, by.name)
	}
	held := func(x *actor) []string {
		ids := clientIDs(t, x.d)
		return ids
	}
	syncs := map[string][2]int{} // actor → syncs ok, failed

	for step := range steps {
		var what string
		switch op := rng.IntN(100); {
		case op < 30: // a worker logs a contact
			w := workers[rng.IntN(len(workers))]
			hs := held(w)
			if len(hs) == 0 {
				what = w.name + " holds no client to log a contact on"
				break
			}
			c := pick(hs)
			ct := caseload.Contact{
				OccurredAt: time.Now().Add(-time.Duration(rng.IntN(600)) * time.Minute).Truncate(time.Millisecond),
				Category:   pick(schema.ContactCategories), Mode: pick(schema.ContactModes),
				Outcome: fmt.Sprintf("step %d by %s", step, w.name), DurationMinutes: rng.IntN(90),
			}
			switch ct.Category {
			case "housing":
				ct.HousingStatusAfter = pick(schema.HousingStatuses)
			case "employment", "education_training":
				ct.ETEStatusAfter = pick(schema.ETEStatuses)
			case "drug_test":
				ct.TestResult = pick([]string{"negative", "positive", "refused", "invalid"})
				if ct.TestResult == "positive" {
					ct.Substances = []string{pick(schema.Substances)}
				}
			case "treatment_attendance":
				ct.Attendance, ct.Provider = pick([]string{"attended", "did_not_attend", "rescheduled"}), pick(providers)
			}
			at := window{from: time.Now()}
			id, err := w.d.LogContact(ctx, c, ct)
			at.to = time.Now()
			if err != nil {
				fatalf("step %d: %s LogContact on a client it holds: %v", step, w.name, err)
			}
			ct.ID = id
			w.contacts = append(w.contacts, madeContact{step: step, at: at, client: c, c: ct, accepted: assigned[c] == w})
			what = fmt.Sprintf("%s logs contact %s on %s (assigned: %v)", w.name, id, c, assigned[c] == w)
		case op < 55: // a worker (or, less often, the supervisor) edits a client
			x := sup
			if op < 45 {
				x = workers[rng.IntN(len(workers))]
			}
			hs := held(x)
			if len(hs) == 0 {
				what = x.name + " holds no client to edit"
				break
			}
			c := pick(hs)
			field, value := clientEdit(step, x)
			at := window{from: time.Now()}
			if err := x.d.UpdateClient(ctx, c, caseload.Edit{Field: field, Value: caseload.String(value)}); err != nil {
				fatalf("step %d: %s UpdateClient %s: %v", step, x.name, field, err)
			}
			at.to = time.Now()
			ok := !x.worker || assigned[c] == x
			x.edits = append(x.edits, madeEdit{step: step, at: at, client: c, field: field, value: value, accepted: ok})
			what = fmt.Sprintf("%s sets %s of %s to %q (may: %v)", x.name, field, c, value, ok)
		case op < 85: // a device syncs
			x := actors[rng.IntN(len(actors))]
			if step < x.offlineUntil {
				what = x.name + " is offline"
				break
			}
			rep, err := timedSync(x)
			n := syncs[x.name]
			if err != nil {
				n[1]++
				what = fmt.Sprintf("%s syncs: %v", x.name, err)
				var seq *caseload.SequenceError
				if errors.As(err, &seq) || errors.Is(err, caseload.ErrSignInRequired) {
					fatalf("step %d: %s sync: %v", step, x.name, err)
				}
			} else {
				n[0]++
				what = fmt.Sprintf("%s syncs: %+v", x.name, rep)
			}
			syncs[x.name] = n
		case op < 93: // the admin moves a client to another worker
			c := pick(clients)
			from := assigned[c]
			to := workers[rng.IntN(len(workers))]
			if to == from {
				to = workers[(slices.Index(workers, from)+1)%len(workers)]
			}
			m := window{from: time.Now()}
			a.unassign(c, from.d)
			m.to = time.Now()
			moved[[2]string{c, from.name}] = append(moved[[2]string{c, from.name}], m)
			takenAt[[2]string{c, from.name}] = append(takenAt[[2]string{c, from.name}], step)
			m = window{from: time.Now()}
			a.assign(c, to.d)
			m.to = time.Now()
			moved[[2]string{c, to.name}] = append(moved[[2]string{c, to.name}], m)
			assigned[c] = to
			lastAssigned[[2]string{c, to.name}] = step
			what = fmt.Sprintf("admin moves %s from %s to %s", c, from.name, to.name)
		default: // a device loses signal for a while
			x := actors[rng.IntN(len(actors))]
			x.offlineUntil = step + 1 + rng.IntN(8)
			what = fmt.Sprintf("%s offline until step %d", x.name, x.offlineUntil)
		}
		trace = append(trace, fmt.Sprintf("%3d %s", step, what))
	}

	// The network heals; everyone syncs until it sticks, then once more so
	// each device pulls what the others sent.
	proxy.Set(Faults{})
	for _, x := range actors {
		inARow := 0
		for attempt := 0; inARow < 2; attempt++ {
			if attempt == 20 {
				fatalf("%s: syncs did not succeed twice in a row with the faults off", x.name)
			}
			if _, err := timedSync(x); err != nil {
				inARow = 0
				t.Logf("seed %d: %s sync after the faults: %v", seed, x.name, err)
				continue
			}
			inARow++
		}
	}
	for _, x := range actors {
		if _, err := timedSync(x); err != nil {
			fatalf("%s: a last sync failed: %v", x.name, err)
		}
	}
	oracle := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	if _, err := oracle.Sync(ctx); err != nil {
		fatalf("oracle sync: %v", err)
	}
	truth := map[string]caseload.Timeline{}
	if got := clientIDs(t, oracle); !sameSet(got, clients) {
		fatalf("the fresh supervisor holds %v, want the team's clients %v", got, clients)
	}
	for _, c := range clients {
		tl, err := oracle.Timeline(ctx, c)
		if err != nil {
			fatalf("oracle timeline of %s: %v", c, err)
		}
		truth[c] = tl
	}

	// (a) Every device shows what the fresh device shows, for exactly the
	// clients it should hold.
	for _, x := range actors {
		want := clients
		if x.worker {
			want = nil
			for _, c := range clients {
				if assigned[c] == x {
					want = append(want, c)
				}
			}
		}
		got := clientIDs(t, x.d)
		if !sameSet(got, want) {
			errorf("%s holds clients %v, want %v", x.name, got, want)
		}
		for _, c := range got {
			tl, err := x.d.Timeline(ctx, c)
			if err != nil {
				errorf("%s timeline of %s: %v", x.name, c, err)
				continue
			}
			if g, w := renderTimeline(tl), renderTimeline(truth[c]); g != w {
				errorf("%s disagrees with a fresh device about client %s:\n%s\n--- fresh device:\n%s", x.name, c, g, w)
			}
		}
	}

	// (b) Every change is on the server or refused with a reason, as the
	// assignments at the time it was made say.
	accepted := map[string]map[string][]string{} // client → field → values perhaps accepted
	sure := map[[2]string]bool{}                 // client, field: an edit surely accepted
	unsure, sureRefused, made := 0, 0, 0
	for _, x := range actors {
		rej, err := x.d.Rejections(ctx)
		if err != nil {
			fatalf("%s rejections: %v", x.name, err)
		}
		refused := map[string][]caseload.Rejection{}
		for _, r := range rej {
			refused[r.RecordID] = append(refused[r.RecordID], r)
			if r.Reason == "" || r.Message == "" {
				errorf("%s: rejection without a reason or message: %+v", x.name, r)
			}
		}
		made += len(x.contacts)
		for _, m := range x.contacts {
			var on *caseload.Contact
			for i, got := range truth[m.client].Contacts {
				if got.ID == m.c.ID {
					on = &truth[m.client].Contacts[i]
				}
			}
			rs := refused[m.c.ID]
			delete(refused, m.c.ID)
			near := nearMove(m.client, x, m.at)
			if near {
				unsure++
			} else if !m.accepted {
				sureRefused++
			}
			switch {
			case on != nil && len(rs) > 0:
				errorf("%s: contact %s (step %d) is on the server and also refused: %+v", x.name, m.c.ID, m.step, rs)
			case on == nil && len(rs) == 0:
				errorf("%s: contact %s (step %d) was lost: neither on the server nor refused", x.name, m.c.ID, m.step)
			case m.accepted && !near && on == nil:
				errorf("%s: contact %s (step %d), made while assigned, was refused: %+v", x.name, m.c.ID, m.step, rs)
			case !m.accepted && !near && on != nil && !regained(m.client, x, m.step):
				errorf("%s: contact %s (step %d), made after the client was moved, was accepted", x.name, m.c.ID, m.step)
			case on != nil:
				if g, w := renderContact(*on), renderContact(expectedContact(m.c, x)); g != w {
					errorf("%s: contact %s arrived as\n%s\nwant\n%s", x.name, m.c.ID, g, w)
				}
			default:
				for _, r := range rs {
					if r.Reason != "access_ended" {
						errorf("%s: contact %s refused for %q, want access_ended", x.name, m.c.ID, r.Reason)
					}
				}
			}
		}
		// Client edits: edits made without access are refused, except (maybe) those of a
		// worker who got the client back before they were pushed; edits made with access
		// may be refused if the client was taken away before they were pushed.
		wantRefused, mayRefuse := map[[2]string]int{}, map[[2]string]int{}
		for _, e := range x.edits {
			unsure := nearMove(e.client, x, e.at) || e.accepted && takenAfter(e.client, x, e.step)
			if e.accepted && !unsure {
				sure[[2]string{e.client, e.field}] = true
			}
			if e.accepted || unsure || regained(e.client, x, e.step) {
				if accepted[e.client] == nil {
					accepted[e.client] = map[string][]string{}
				}
				accepted[e.client][e.field] = append(accepted[e.client][e.field], e.value)
			}
			if !e.accepted || unsure {
				mayRefuse[[2]string{e.client, e.field}]++
				if !e.accepted && !unsure && !regained(e.client, x, e.step) {
					wantRefused[[2]string{e.client, e.field}]++
				}
			}
		}
		gotRefused := map[[2]string]int{}
		for id, rs := range refused {
			for _, r := range rs {
				if r.RecordType != "client" || r.RecordID != r.ClientID {
					errorf("%s: a refusal of a record it never made: %+v (record %s)", x.name, r, id)
					continue
				}
				if r.Reason != "access_ended" {
					errorf("%s: an edit of client %s refused for %q, want access_ended", x.name, r.ClientID, r.Reason)
				}
				gotRefused[[2]string{r.ClientID, r.Field}]++
			}
		}
		for k, n := range gotRefused {
			if n < wantRefused[k] || n > mayRefuse[k] {
				errorf("%s: %d edits of %s.%s refused; %d may be (made without access, or too near a move to tell), %d must be",
					x.name, n, k[0], k[1], mayRefuse[k], wantRefused[k])
			}
		}
		for k, n := range wantRefused {
			if gotRefused[k] < n {
				errorf("%s: %d edits of %s.%s made without access, only %d refused", x.name, n, k[0], k[1], gotRefused[k])
			}
		}
	}
	// A client's field holds a value someone was allowed to write (or none).
	for _, c := range clients {
		cl := truth[c].Client
		for field, got := range map[string]string{"housing_status": cl.HousingStatus, "ete_status": cl.ETEStatus,
			"treatment_provider": cl.TreatmentProvider, "keyworker_notes": cl.KeyworkerNotes} {
			vals := accepted[c][field]
			if (got == "" && sure[[2]string{c, field}]) || (got != "" && !slices.Contains(vals, got)) {
				errorf("client %s: %s is %q; the edits that may have been accepted wrote %q", c, field, got, vals)
			}
		}
	}

	// (c) Nothing is left to send.
	for _, x := range actors {
		if st := x.d.Status(); st.Pending != 0 {
			errorf("%s still has %d changes pending: %+v", x.name, st.Pending, st)
		}
	}
	t.Logf("seed %d: %d contacts, %d made without access, %d too near a move to tell", seed, made, sureRefused, unsure)
	t.Logf("seed %d: %d steps, syncs (ok, failed) %v, faults %v", seed, steps, syncs, proxy.Counts())
}

// expectedContact is a contact as it should read back once synced.
func expectedContact(c caseload.Contact, by *actor) caseload.Contact {
	c.Author = by.d.UserID()
	return c
}

// renderContact shows a contact's fields (not whether it is pending, nor
// the client id, which readers fill in).
func renderContact(c caseload.Contact) string {
	c.Pending, c.ClientID = false, ""
	c.OccurredAt = c.OccurredAt.UTC()
	c.Substances = slices.Sorted(slices.Values(c.Substances))
	conflicts := c.Conflicts
	c.Conflicts = nil
	return fmt.Sprintf("%+v conflicts %s", c, renderConflicts(conflicts))
}

func renderConflicts(cs []caseload.Conflict) string {
	var out []string
	for _, x := range cs {
		out = append(out, fmt.Sprintf("{%d %s.%s %q@%s by %s / %q@%s by %s}", x.ID, x.RecordType, x.Field,
			x.Current.Value, x.Current.At.UTC().Format(time.RFC3339Nano), x.Current.UserID,
			x.Incoming.Value, x.Incoming.At.UTC().Format(time.RFC3339Nano), x.Incoming.UserID))
	}
	slices.Sort(out)
	return "[" + strings.Join(out, " ") + "]"
}

// renderTimeline shows a client's fields and contacts, ignoring Pending.
func renderTimeline(tl caseload.Timeline) string {
	c := tl.Client
	c.Pending = false
	c.RiskFlags = slices.Sorted(slices.Values(c.RiskFlags))
	conflicts := c.Conflicts
	c.Conflicts = nil
	lines := []string{fmt.Sprintf("client %+v conflicts %s", c, renderConflicts(conflicts))}
	var contacts []string
	for _, x := range tl.Contacts {
		contacts = append(contacts, "contact "+renderContact(x))
	}
	slices.Sort(contacts)
	lines = append(lines, contacts...)
	lines = append(lines, fmt.Sprintf("goals %d referrals %d review notes %d", len(tl.Goals), len(tl.Referrals), len(tl.ReviewNotes)))
	return strings.Join(lines, "\n")
}

func sameSet(a, b []string) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}

// window is when something happened: between from and to.
type window struct{ from, to time.Time }
