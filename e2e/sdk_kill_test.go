package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// syncLog is what one syncing device did: the contacts it logged, in order,
// and how its syncs went.
type syncLog struct {
	mu       sync.Mutex
	logged   []string          // contact ids, in the order logged
	outcome  map[string]string // contact id → its outcome text
	ok, fail int               // syncs that returned nil / an error
	// confirmed is how many of logged a successful sync had sent: those
	// logged before the start of the latest sync that returned nil.
	confirmed int
	fatal     error // an error retrying cannot explain (lost changes, lost session)
}

func (l *syncLog) counts() (ok, fail int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok, l.fail
}

// The server is killed with SIGKILL and restarted on the same data and port,
// three times, while workers log contacts and sync as fast as they can and
// a supervisor follows live. Every contact a successful sync sent survives
// each crash; in the end every contact logged is on the server exactly
// once, nothing is left pending, and the live supervisor has caught up by
// itself.
func TestSDKServerKilledWhileSyncing(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Croydon Outreach")
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	const nWorkers = 3
	var (
		workers []*device
		clients []string
	)
	for i := range nWorkers {
		w := a.enrol(v1.Role_ROLE_WORKER, team)
		c := a.client(team, fmt.Sprintf("Client%d", i), "Killtest")
		a.assign(c, w)
		w.mustSync(t)
		workers, clients = append(workers, w), append(clients, c)
	}
	sup.mustSync(t)

	// A second supervisor follows live through every crash.
	live := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() {
		runDone <- live.Run(runCtx, caseload.RunOptions{Live: true, MaxBackoff: time.Second})
	}()
	stopLive := sync.OnceValue(func() error {
		stopRun()
		return <-runDone
	})
	t.Cleanup(func() { stopLive() })

	logs := make([]*syncLog, nWorkers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, w := range workers {
		l := &syncLog{outcome: map[string]string{}}
		logs[i] = l
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				outcome := fmt.Sprintf("worker %d contact %d", i, n)
				id, err := w.LogContact(ctx, clients[i], caseload.Contact{OccurredAt: time.Now(), Category: "general", Mode: "phone", Outcome: outcome})
				l.mu.Lock()
				if err != nil {
					l.fatal = fmt.Errorf("LogContact (a local write) failed: %w", err)
					l.mu.Unlock()
					return
				}
				l.logged = append(l.logged, id)
				l.outcome[id] = outcome
				before := len(l.logged)
				l.mu.Unlock()

				_, err = w.Sync(ctx)
				var seq *caseload.SequenceError
				l.mu.Lock()
				switch {
				case err == nil:
					l.ok++
					l.confirmed = before
				case errors.As(err, &seq), errors.Is(err, caseload.ErrSignInRequired), errors.Is(err, caseload.ErrClosed):
					l.fatal = fmt.Errorf("sync: %w", err)
				default:
					l.fail++ // the server is down: retry
				}
				fatal := l.fatal
				l.mu.Unlock()
				if fatal != nil {
					return
				}
				if err != nil {
					time.Sleep(20 * time.Millisecond) // the server is coming back
				}
			}
		}()
	}
	stopWorkers := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	t.Cleanup(stopWorkers)
	checkFatal := func() {
		t.Helper()
		for i, l := range logs {
			l.mu.Lock()
			err := l.fatal
			l.mu.Unlock()
			if err != nil {
				t.Fatalf("worker %d: %v", i, err)
			}
		}
	}

	for cycle := range 3 {
		// Let every worker get some work through, then crash the server.
		base := make([]int, nWorkers)
		for i, l := range logs {
			base[i], _ = l.counts()
		}
		if !waitFor(60*time.Second, func() bool {
			for i, l := range logs {
				if ok, _ := l.counts(); ok < base[i]+5 {
					return false
				}
			}
			return true
		}) {
			checkFatal()
			t.Fatalf("cycle %d: the workers' syncs did not get through before the crash", cycle)
		}
		s.kill(t)

		// What the server acknowledged before it died must survive it.
		confirmed := make([][]string, nWorkers)
		failed := make([]int, nWorkers)
		for i, l := range logs {
			l.mu.Lock()
			confirmed[i] = slices.Clone(l.logged[:l.confirmed])
			failed[i] = l.fail
			l.mu.Unlock()
		}
		// Every worker notices the outage before the server comes back.
		if !waitFor(30*time.Second, func() bool {
			for i, l := range logs {
				if _, fail := l.counts(); fail <= failed[i] {
					return false
				}
			}
			return true
		}) {
			checkFatal()
			t.Fatalf("cycle %d: the workers did not notice the server was down", cycle)
		}
		s.restart(t)
		checkFatal()

		syncUntilOK(t, sup, 200)
		for i, c := range clients {
			have := contactIDs(t, sup, c)
			for _, id := range confirmed[i] {
				if !have[id] {
					t.Fatalf("cycle %d: contact %s of worker %d was acknowledged by a successful sync before the crash but is gone after the restart (%d of %d confirmed contacts present)",
						cycle, id, i, countIn(have, confirmed[i]), len(confirmed[i]))
				}
			}
		}
		t.Logf("cycle %d: %d contacts confirmed before the crash survived it", cycle, func() int {
			n := 0
			for _, c := range confirmed {
				n += len(c)
			}
			return n
		}())
	}

	stopWorkers()
	checkFatal()
	for i, w := range workers {
		syncUntilOK(t, w, 200)
		if st := w.Status(); st.Pending != 0 || st.Rejected != 0 {
			t.Errorf("worker %d status after a clean sync: %+v", i, st)
		}
	}
	oracle := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	oracle.mustSync(t)
	sup.mustSync(t)
	total := 0
	for i, c := range clients {
		l := logs[i]
		total += len(l.logged)
		for _, d := range []*device{oracle, sup} {
			tl, err := d.Timeline(ctx, c)
			must(t, err)
			seen := map[string]int{}
			for _, x := range tl.Contacts {
				seen[x.ID]++
				if want, ok := l.outcome[x.ID]; !ok {
					t.Errorf("client %d: contact %s (%q) was never logged", i, x.ID, x.Outcome)
				} else if x.Outcome != want || x.Author != workers[i].UserID() || x.Pending {
					t.Errorf("client %d: contact %s arrived as %+v, want outcome %q by %s", i, x.ID, x, want, workers[i].UserID())
				}
			}
			for _, id := range l.logged {
				if seen[id] != 1 {
					t.Errorf("client %d: contact %s (%q) present %d times, want once", i, id, l.outcome[id], seen[id])
				}
			}
			if len(tl.Contacts) != len(l.logged) {
				t.Errorf("client %d: %d contacts on the server, %d logged", i, len(tl.Contacts), len(l.logged))
			}
		}
	}

	// The live supervisor catches up without being told to sync.
	var lag string
	if !waitFor(20*time.Second, func() bool {
		for i, c := range clients {
			have := contactIDs(t, live, c)
			if n := countIn(have, logs[i].logged); n != len(logs[i].logged) || len(have) != n {
				lag = fmt.Sprintf("client %d: holds %d contacts, %d of the %d logged", i, len(have), n, len(logs[i].logged))
				return false
			}
		}
		return true
	}) {
		t.Errorf("the live supervisor did not catch up after the crashes: %s (status %+v)", lag, live.Status())
	}
	if err := stopLive(); !errors.Is(err, context.Canceled) {
		t.Errorf("the live supervisor's Run ended with %v, want context.Canceled", err)
	}
	for i, l := range logs {
		t.Logf("worker %d: %d contacts, %d syncs ok, %d failed", i, len(l.logged), l.ok, l.fail)
	}
	t.Logf("%d contacts across 3 crashes", total)
}

// syncUntilOK retries a sync (a server restarting, a flaky network) and
// fails the test after attempts failures.
func syncUntilOK(t *testing.T, d *device, attempts int) {
	t.Helper()
	var err error
	for range attempts {
		if _, err = d.Sync(context.Background()); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sync never succeeded: %v", err)
}

// contactIDs is the set of contacts a device holds for a client.
func contactIDs(t *testing.T, d *device, client string) map[string]bool {
	t.Helper()
	tl, err := d.Timeline(context.Background(), client)
	if errors.Is(err, caseload.ErrNotFound) {
		return map[string]bool{}
	}
	must(t, err)
	out := map[string]bool{}
	for _, x := range tl.Contacts {
		out[x.ID] = true
	}
	return out
}

func countIn(have map[string]bool, ids []string) int {
	n := 0
	for _, id := range ids {
		if have[id] {
			n++
		}
	}
	return n
}
