package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/syncproto/colzstd"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

// A supervisor's device follows the live stream: a contact a worker syncs
// reaches it (a Pulled event, then the timeline) with no sync by the
// supervisor; a new client in the team closes the stream with
// MEMBERSHIP_CHANGED, and Run pulls the new client and follows again.
func TestSDKLiveSupervisor(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Lewisham Outreach")
	tp := newTap()
	sup := a.enrolWith(v1.Role_ROLE_SUPERVISOR, team, tp.client())
	w := a.enrol(v1.Role_ROLE_WORKER, team)
	c := a.client(team, "Robin", "Hughes")
	a.assign(c, w)
	w.mustSync(t)

	ready, take, stopWatch := sup.Watch()
	defer stopWatch()
	run := startRun(t, sup, caseload.RunOptions{Live: true, MaxBackoff: 2 * time.Second})
	if !waitFor(20*time.Second, func() bool { return tp.opened("Subscribe") >= 1 && slices.Contains(clientIDs(t, sup), c) }) {
		t.Fatalf("the supervisor's Run did not sync and follow the stream (status %+v, errors %v)", sup.Status(), run.errors())
	}
	take() // the first sync's events
	pulls, subs := tp.count("Pull"), tp.count("Subscribe")

	id, err := w.LogContact(ctx, c, caseload.Contact{OccurredAt: time.Now(), Category: "health", Mode: "office", Outcome: "GP registration"})
	must(t, err)
	w.mustSync(t)
	var events []caseload.Event
	if !waitFor(20*time.Second, func() bool {
		select {
		case <-ready:
			events = append(events, take()...)
		default:
		}
		return slices.ContainsFunc(events, func(ev caseload.Event) bool { return ev.Kind == caseload.Pulled && slices.Contains(ev.ClientIDs, c) })
	}) {
		t.Fatalf("no Pulled event for the client within 20s; events %v", events)
	}
	tl, err := sup.Timeline(ctx, c)
	must(t, err)
	if len(tl.Contacts) != 1 || tl.Contacts[0].ID != id || tl.Contacts[0].Outcome != "GP registration" {
		t.Fatalf("after the Pulled event the supervisor's timeline holds %+v, want the worker's contact", tl.Contacts)
	}
	if tp.count("Pull") != pulls || tp.count("Subscribe") != subs {
		t.Fatalf("the contact came by a sync (pulls %d→%d, subscribes %d→%d), not the live stream",
			pulls, tp.count("Pull"), subs, tp.count("Subscribe"))
	}

	// A new client in the team changes the supervisor's caseload.
	c2 := a.client(team, "Jamie", "Ward")
	a.assign(c2, w)
	if !waitFor(20*time.Second, func() bool { return slices.Contains(tp.ends(), "CLOSE_REASON_MEMBERSHIP_CHANGED") }) {
		t.Fatalf("the supervisor's stream did not close with MEMBERSHIP_CHANGED; stream ends %v", tp.ends())
	}
	if !waitFor(20*time.Second, func() bool { return slices.Contains(clientIDs(t, sup), c2) }) {
		t.Fatalf("Run did not pull the new client after the membership change; holds %v", clientIDs(t, sup))
	}
	if !waitFor(20*time.Second, func() bool { return tp.count("Pull") > pulls && tp.opened("Subscribe") > subs }) {
		t.Fatalf("Run did not sync and follow again (pulls %d→%d, subscribes %d→%d)", pulls, tp.count("Pull"), subs, tp.opened("Subscribe"))
	}
	// The new stream carries the new client's changes.
	w.mustSync(t)
	pulls = tp.count("Pull")
	id2, err := w.LogContact(ctx, c2, caseload.Contact{OccurredAt: time.Now(), Category: "finance", Mode: "phone", Outcome: "Benefits claim"})
	must(t, err)
	w.mustSync(t)
	if !waitFor(20*time.Second, func() bool { return contactIDs(t, sup, c2)[id2] }) {
		t.Fatalf("the new client's contact did not reach the live supervisor (stream ends %v)", tp.ends())
	}
	if tp.count("Pull") != pulls {
		t.Errorf("the new client's contact came by a pull, not the stream")
	}
	if err := run.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v after its context was cancelled", err)
	}
	if errs := run.errors(); len(errs) > 0 {
		t.Errorf("Run reported failures on a healthy network: %v", errs)
	}
}

// A worker's user is disabled while their device runs. With changes
// waiting to be sent (the network was down when they were made), Run
// returns ErrSignInRequired and the outbox is left as it was; following
// live with nothing to send, the stream's SESSION_ENDED ends Run the same
// way.
func TestSDKRunSignInRequired(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Bromley Outreach")
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)

	t.Run("changes waiting", func(t *testing.T) {
		proxy := newFaultProxy(t, s.URL, 11)
		a.url = proxy.URL
		w := a.enrol(v1.Role_ROLE_WORKER, team)
		a.url = s.URL
		c := a.client(team, "Sasha", "Reid")
		a.assign(c, w)
		w.mustSync(t)
		run := startRun(t, w, caseload.RunOptions{Live: true, MaxBackoff: time.Second})

		proxy.Set(Faults{DropRequest: 1}) // no signal
		var ids []string
		for _, outcome := range []string{"Food bank voucher", "Arranged detox assessment"} {
			id, err := w.LogContact(ctx, c, caseload.Contact{OccurredAt: time.Now(), Category: "general", Mode: "community", Outcome: outcome})
			must(t, err)
			ids = append(ids, id)
		}
		if !waitFor(20*time.Second, func() bool { return len(run.errors()) > 0 }) {
			t.Fatal("Run did not try to send the contacts")
		}
		pending := w.Status().Pending
		if pending == 0 {
			t.Fatalf("nothing pending after writes with the network down: %+v", w.Status())
		}
		a.disable(w)
		proxy.Set(Faults{})
		err := run.wait(20 * time.Second)
		if !errors.Is(err, caseload.ErrSignInRequired) {
			t.Fatalf("Run returned %v, want ErrSignInRequired", err)
		}
		st := w.Status()
		if st.Pending != pending || !st.SignInRequired || st.Rejected != 0 {
			t.Fatalf("status after the session ended %+v, want Pending %d kept and SignInRequired", st, pending)
		}
		tl, err := w.Timeline(ctx, c)
		must(t, err)
		for _, id := range ids {
			if i := slices.IndexFunc(tl.Contacts, func(x caseload.Contact) bool { return x.ID == id }); i < 0 || !tl.Contacts[i].Pending {
				t.Fatalf("contact %s is not kept as pending on the device: %+v", id, tl.Contacts)
			}
		}
		if _, err := w.Sync(ctx); !errors.Is(err, caseload.ErrSignInRequired) {
			t.Fatalf("a sync after the session ended returned %v", err)
		}
		if st := w.Status(); st.Pending != pending {
			t.Fatalf("a refused sync changed the outbox: pending %d, was %d", st.Pending, pending)
		}
		sup.mustSync(t)
		if have := contactIDs(t, sup, c); countIn(have, ids) != 0 {
			t.Fatalf("contacts of a disabled user's dead session reached the server")
		}
	})

	t.Run("following live", func(t *testing.T) {
		tp := newTap()
		w := a.enrolWith(v1.Role_ROLE_WORKER, team, tp.client())
		c := a.client(team, "Morgan", "Price")
		a.assign(c, w)
		w.mustSync(t)
		run := startRun(t, w, caseload.RunOptions{Live: true, MaxBackoff: time.Second})
		if !waitFor(20*time.Second, func() bool { return tp.opened("Subscribe") >= 1 }) {
			t.Fatal("Run did not follow the stream")
		}
		a.disable(w)
		err := run.wait(20 * time.Second)
		if !errors.Is(err, caseload.ErrSignInRequired) {
			t.Fatalf("Run returned %v, want ErrSignInRequired (stream ends %v)", err, tp.ends())
		}
		if !slices.Contains(tp.ends(), "CLOSE_REASON_SESSION_ENDED") {
			t.Errorf("stream ends %v, want SESSION_ENDED", tp.ends())
		}
		if st := w.Status(); st.Pending != 0 || !st.SignInRequired {
			t.Fatalf("status %+v", st)
		}
	})
}

// Run promises to sync soon after every local write. A write made while
// Run's sync is pulling (after the push has emptied the outbox) must still
// be sent without waiting for another write.
func TestSDKLiveWriteDuringPullIsSent(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Greenwich Outreach")
	tp := newTap()
	w := a.enrolWith(v1.Role_ROLE_WORKER, team, tp.client())
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	c := a.client(team, "Ali", "Khan")
	a.assign(c, w)
	w.mustSync(t)
	run := startRun(t, w, caseload.RunOptions{Live: true, MaxBackoff: time.Second})
	if !waitFor(20*time.Second, func() bool { return tp.opened("Subscribe") >= 1 }) {
		t.Fatal("Run did not follow the stream")
	}

	gate := tp.holdNext("Pull")
	first, err := w.LogContact(ctx, c, caseload.Contact{OccurredAt: time.Now(), Category: "general", Mode: "phone", Outcome: "First call"})
	must(t, err)
	select {
	case <-gate.reached: // Run's sync has pushed the first contact and is pulling
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not sync after a local write")
	}
	second, err := w.LogContact(ctx, c, caseload.Contact{OccurredAt: time.Now(), Category: "general", Mode: "phone", Outcome: "Second call"})
	must(t, err)
	close(gate.release)

	if !waitFor(20*time.Second, func() bool { return w.Status().Pending == 0 }) {
		t.Errorf("a contact written while Run's sync was pulling was never sent: status %+v (pushes %d, pulls %d, subscribes %d); "+
			"Run's follow discards the LocalWrite event (take() after Subscribe) although the sync before it did not send the write",
			w.Status(), tp.count("Push"), tp.count("Pull"), tp.count("Subscribe"))
	}
	sup.mustSync(t)
	have := contactIDs(t, sup, c)
	if !have[first] || !have[second] {
		t.Errorf("the supervisor holds first %v, second %v; want both", have[first], have[second])
	}
	if err := run.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

// runner is a device's Run in a goroutine.
type runner struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
	mu     sync.Mutex
	errs   []error // reported through OnError
}

func startRun(t *testing.T, d *device, o caseload.RunOptions) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1)}
	o.OnError = func(err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.errs = append(r.errs, err)
	}
	go func() { r.done <- d.Run(ctx, o) }()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *runner) errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// wait waits for Run to return by itself (an error if it has not within
// timeout).
func (r *runner) wait(timeout time.Duration) error {
	select {
	case err := <-r.done:
		r.once.Do(func() { r.err = err })
		return err
	case <-time.After(timeout):
		return fmt.Errorf("Run still running after %v", timeout)
	}
}

// stop cancels Run and returns what it returned.
func (r *runner) stop() error {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	return r.err
}

// tap is an HTTP transport for one device that counts its calls, records
// how each live stream ended (the reason in the stream's end message), and
// can hold a call until the test lets it go.
type tap struct {
	base  http.RoundTripper
	mu    sync.Mutex
	calls map[string]int // calls started, by method
	open  map[string]int // calls answered with headers, by method
	end   []string       // how each Subscribe stream ended
	holds map[string]*hold
}

// hold stops the next call of a method: reached is closed when it arrives,
// and it goes on once release is closed.
type hold struct{ reached, release chan struct{} }

func newTap() *tap {
	t := http.DefaultTransport.(*http.Transport).Clone()
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	t.Protocols = p
	return &tap{base: t, calls: map[string]int{}, open: map[string]int{}, holds: map[string]*hold{}}
}

func (tp *tap) client() *http.Client { return &http.Client{Transport: tp} }

func (tp *tap) count(method string) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.calls[method]
}

func (tp *tap) opened(method string) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.open[method]
}

func (tp *tap) ends() []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return slices.Clone(tp.end)
}

func (tp *tap) holdNext(method string) *hold {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	h := &hold{reached: make(chan struct{}), release: make(chan struct{})}
	tp.holds[method] = h
	return h
}

func (tp *tap) RoundTrip(r *http.Request) (*http.Response, error) {
	method := path.Base(r.URL.Path)
	tp.mu.Lock()
	tp.calls[method]++
	h := tp.holds[method]
	delete(tp.holds, method)
	tp.mu.Unlock()
	if h != nil {
		close(h.reached)
		select {
		case <-h.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	resp, err := tp.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	tp.mu.Lock()
	tp.open[method]++
	tp.mu.Unlock()
	if method == "Subscribe" {
		resp.Body = &streamBody{ReadCloser: resp.Body, enc: resp.Header.Get("Connect-Content-Encoding"), done: func(reason string) {
			tp.mu.Lock()
			defer tp.mu.Unlock()
			tp.end = append(tp.end, reason)
		}}
	}
	return resp, nil
}

// streamBody keeps a Connect stream's bytes and, when it ends, reports the
// reason in its end message.
type streamBody struct {
	io.ReadCloser
	enc  string
	mu   sync.Mutex // Close may come from another goroutine than Read
	buf  bytes.Buffer
	once sync.Once
	done func(string)
}

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	b.buf.Write(p[:n])
	b.mu.Unlock()
	if err != nil {
		b.finish()
	}
	return n, err
}

func (b *streamBody) Close() error {
	b.finish()
	return b.ReadCloser.Close()
}

func (b *streamBody) finish() {
	b.once.Do(func() {
		b.mu.Lock()
		raw := bytes.Clone(b.buf.Bytes())
		b.mu.Unlock()
		b.done(endReason(raw, b.enc))
	})
}

// endReason reads a Connect server stream's envelopes and returns the
// StreamClosed reason of its end message ("CLOSE_REASON_..."), "ok" for an
// end without error, "error:<code>" for another error, or "cut" if the
// stream stopped without an end message.
func endReason(b []byte, enc string) string {
	for len(b) >= 5 {
		flags, n := b[0], int(binary.BigEndian.Uint32(b[1:5]))
		if len(b) < 5+n {
			return "cut"
		}
		payload := b[5 : 5+n]
		b = b[5+n:]
		if flags&2 == 0 {
			continue
		}
		if flags&1 != 0 {
			var err error
			if payload, err = decompress(payload, enc); err != nil {
				return "undecodable: " + err.Error()
			}
		}
		var end struct {
			Error *struct {
				Code    string `json:"code"`
				Details []struct {
					Type  string `json:"type"`
					Value string `json:"value"`
				} `json:"details"`
			} `json:"error"`
		}
		if err := json.Unmarshal(payload, &end); err != nil {
			return "undecodable: " + err.Error()
		}
		if end.Error == nil {
			return "ok"
		}
		for _, d := range end.Error.Details {
			if d.Type != "throughcare.v1.StreamClosed" {
				continue
			}
			raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(d.Value, "="))
			if err != nil {
				return "undecodable: " + err.Error()
			}
			var sc v1.StreamClosed
			if err := proto.Unmarshal(raw, &sc); err != nil {
				return "undecodable: " + err.Error()
			}
			return sc.GetReason().String()
		}
		return "error:" + end.Error.Code
	}
	return "cut"
}

func decompress(b []byte, enc string) ([]byte, error) {
	switch enc {
	case zstdwire.Name:
		d := zstdwire.NewDecompressor()
		if err := d.Reset(bytes.NewReader(b)); err != nil {
			return nil, err
		}
		return io.ReadAll(d)
	case colzstd.Name:
		d := colzstd.NewDecompressor()
		if err := d.Reset(bytes.NewReader(b)); err != nil {
			return nil, err
		}
		return io.ReadAll(d)
	case "gzip":
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	return nil, fmt.Errorf("unknown encoding %q", enc)
}
