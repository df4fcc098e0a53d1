package api_test

// Benchmarks of the sync API end to end: push ingest into a durable store by
// concurrent devices, a first (full) pull of a 100,000-record caseload over
// HTTP/2 with zstd and gzip and straight from the engine, and a small delta
// pull on top of that store.
//
//	go test -run '^$' -bench . -benchtime 1x -benchmem ./server/api/
//
// Every identifier here starts with "bench" so as not to collide with the
// package's other test files.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
	"github.com/throughcare/throughcare/server/storekey"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

var benchSchemaVersion = schema.Builtin().Version()

// ---------------------------------------------------------------------------
// Push ingest

// benchPusher is one device of the ingest benchmark with its pre-built
// requests.
type benchPusher struct {
	client throughcarev1connect.SyncServiceClient
	reqs   []*v1.PushRequest
}

// benchMakePushers signs in devices devices that share one set of client
// buckets (one client per device, every identity holding all of them), and
// builds for each batches pushes of at most size changes: the first creates
// the device's client, then whole contacts follow; a record never spans two
// pushes, since required fields are checked per push.
func benchMakePushers(b *testing.B, env *servertest.Env, iter, devices, batches, size int) ([]*benchPusher, int) {
	b.Helper()
	devs := make([]*sample.Device, devices)
	clients := make([]string, devices)
	first := make([][]*v1.Change, devices)
	for d := range devices {
		devs[d] = sample.NewDevice(fmt.Sprintf("ingest-user-%d-%d", iter, d), time.Now, uint64(iter*1000+d+1))
		clients[d], first[d] = devs[d].NewClient(sample.Areas[d%len(sample.Areas)])
	}
	total := 0
	pushers := make([]*benchPusher, devices)
	for d, dev := range devs {
		token := fmt.Sprintf("ingest-%d-%d", iter, d)
		// Admins: the first push creates the device's client, area included.
		env.SignIn(token, identity.Identity{UserID: dev.UserID, DeviceID: dev.ID, Role: identity.Admin, Buckets: clients})
		p := &benchPusher{client: env.SyncClient(token)}
		cur := first[d]
		at := time.Now().Add(-time.Hour)
		for len(p.reqs) < batches {
			_, chs := dev.NewContact(clients[d], at)
			if len(cur)+len(chs) > size {
				p.reqs = append(p.reqs, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Changes: cur})
				total += len(cur)
				cur = make([]*v1.Change, 0, size)
			}
			cur = append(cur, chs...) // the last contact made is dropped, unpushed
		}
		pushers[d] = p
	}
	return pushers, total
}

// BenchmarkPushIngest: 20 devices push 20 batches of ~500 changes each,
// concurrently, over Connect (protobuf binary) into a durable store (every
// push is fsynced before it returns), on each store. Reports applied changes
// per second of wall time, and push latency percentiles.
func BenchmarkPushIngest(b *testing.B) {
	benchOnStores(b, servertest.Options{}, func(b *testing.B, env *servertest.Env, _ store.Store) { benchPushIngest(b, env) })
}

// BenchmarkPushIngestEncrypted is BenchmarkPushIngest into a Badger store
// encrypted at rest.
func BenchmarkPushIngestEncrypted(b *testing.B) {
	benchPushIngest(b, servertest.New(b, servertest.Options{Dir: b.TempDir(), EncryptionKey: benchKey(b)}))
}

func benchKey(b *testing.B) storekey.Key {
	k, err := storekey.Generate()
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func benchPushIngest(b *testing.B, env *servertest.Env) {
	const devices, batches, size = 20, 20, 500
	ctx := context.Background()
	var applied int64
	var wall time.Duration
	var lat []time.Duration
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		// Fresh devices and buckets each iteration, in the same store.
		pushers, want := benchMakePushers(b, env, iter, devices, batches, size)
		runtime.GC()
		var (
			n    atomic.Int64
			mu   sync.Mutex
			errs []error
			wg   sync.WaitGroup
		)
		lats := make([][]time.Duration, devices)
		b.StartTimer()
		start := time.Now()
		for d, p := range pushers {
			wg.Go(func() {
				for i, req := range p.reqs {
					t0 := time.Now()
					resp, err := p.client.Push(ctx, req)
					lats[d] = append(lats[d], time.Since(t0))
					if err == nil && len(resp.GetResults()) != len(req.GetChanges()) {
						err = fmt.Errorf("%d results for %d changes", len(resp.GetResults()), len(req.GetChanges()))
					}
					if err == nil {
						for j, r := range resp.GetResults() {
							if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
								err = fmt.Errorf("change %d: verdict %v (%v: %s)", j, r.GetVerdict(), r.GetReason(), r.GetMessage())
								break
							}
						}
					}
					if err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("device %d push %d: %w", d, i, err))
						mu.Unlock()
						return
					}
					n.Add(int64(len(req.GetChanges())))
				}
			})
		}
		wg.Wait()
		wall += time.Since(start)
		b.StopTimer()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		if n.Load() != int64(want) {
			b.Fatalf("applied %d changes, want %d", n.Load(), want)
		}
		applied += n.Load()
		for _, l := range lats {
			lat = append(lat, l...)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(applied)/wall.Seconds(), "changes/s")
	b.ReportMetric(float64(applied)/float64(b.N), "changes/op")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-push-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-push-ms")
}

// ---------------------------------------------------------------------------
// Pull

const (
	benchSeedBuckets  = 100
	benchSeedContacts = 100_000
)

// benchSeed fills st with buckets clients and contacts contacts spread
// evenly over them (storetest.Seed: the workload every store is measured
// on) and returns the client ids, sorted.
func benchSeed(b testing.TB, st store.Store, buckets, contacts int) []string {
	b.Helper()
	clients := storetest.Seed(b, st, buckets, contacts)
	runtime.GC()
	return clients
}

// benchPullFunc is one Pull call: over HTTP (a client) or straight to the
// engine.
type benchPullFunc func(context.Context, *v1.PullRequest) (*v1.PullResponse, error)

func benchEnginePull(e *syncengine.Engine, id identity.Identity) benchPullFunc {
	id.Buckets = slices.Sorted(slices.Values(id.Buckets))
	return func(ctx context.Context, req *v1.PullRequest) (*v1.PullResponse, error) {
		return e.Pull(ctx, &id, req)
	}
}

// benchPulled is what a pull to the head received.
type benchPulled struct {
	records  map[string]int // by record type
	pages    int
	cursor   []byte
	buckets  map[string]bool
	snapshot int // bucket updates that came as snapshots
}

// benchPullAll pulls from cursor, with the server's default page limit,
// until has_more is false, calling onPage (if set) with each page.
func benchPullAll(ctx context.Context, pull benchPullFunc, cursor []byte, onPage func(*v1.PullResponse)) (benchPulled, error) {
	out := benchPulled{records: map[string]int{}, buckets: map[string]bool{}}
	for {
		resp, err := pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Cursor: cursor})
		if err != nil {
			return out, fmt.Errorf("page %d: %w", out.pages+1, err)
		}
		out.pages++
		if onPage != nil {
			onPage(resp)
		}
		for _, bu := range resp.GetBuckets() {
			out.buckets[bu.GetClientId()] = true
			if bu.GetAction() == v1.BucketAction_BUCKET_ACTION_SNAPSHOT {
				out.snapshot++
			}
			for _, r := range bu.GetRecords() {
				out.records[r.GetRecordType()]++
			}
		}
		cursor = resp.GetCursor()
		if !resp.GetHasMore() {
			out.cursor = cursor
			return out, nil
		}
	}
}

// benchWire counts response body bytes as they come off the wire (still
// compressed: Connect, not the transport, decompresses) and the
// Content-Encodings seen.
type benchWire struct {
	base http.RoundTripper
	n    atomic.Int64
	mu   sync.Mutex
	enc  map[string]int
}

func (w *benchWire) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.enc[resp.Header.Get("Content-Encoding")]++
	w.mu.Unlock()
	resp.Body = &benchCountingBody{ReadCloser: resp.Body, n: &w.n}
	return resp, nil
}

func (w *benchWire) encodings() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var names []string
	for k, v := range w.enc {
		if k == "" {
			k = "identity"
		}
		names = append(names, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

type benchCountingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *benchCountingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// benchHTTPClient returns a Connect client (protobuf binary) sending token
// through a wire counter; zstd asks for zstd responses, else Connect's
// default gzip.
func benchHTTPClient(env *servertest.Env, token string, zstdOn bool) (throughcarev1connect.SyncServiceClient, *benchWire) {
	w := &benchWire{base: env.HTTPClient.Transport, enc: map[string]int{}}
	opts := []connect.ClientOption{connect.WithInterceptors(servertest.BearerToken(token))}
	if zstdOn {
		opts = append(opts, zstdwire.ClientOption())
	}
	return throughcarev1connect.NewSyncServiceClient(&http.Client{Transport: w}, env.URL, opts...), w
}

func benchReader(name string, buckets []string) identity.Identity {
	return identity.Identity{UserID: "reader-" + name, DeviceID: uuid.NewString(), Role: identity.Worker, Buckets: buckets}
}

// BenchmarkPullFresh100k: a new device's first sync of a 100-client,
// 100,000-contact caseload, page by page with the default limit, until
// has_more is false, on each store. The store is durable, as in production
// (Badger on disk, so reads go through its SSTs and block cache, not an
// in-memory skiplist).
//
// Sub-benchmarks: "engine" calls Engine.Pull directly (server-side cost, no
// encoding or HTTP); "http-zstd" and "http-gzip" pull through the real API
// over HTTP/2 TLS loopback and include compression, transfer and client-side
// decoding.
func BenchmarkPullFresh100k(b *testing.B) { benchOnStores(b, servertest.Options{}, benchPullFresh) }

// BenchmarkPullFresh100kEncrypted is BenchmarkPullFresh100k from a Badger
// store encrypted at rest.
func BenchmarkPullFresh100kEncrypted(b *testing.B) {
	env := servertest.New(b, servertest.Options{Dir: b.TempDir(), EncryptionKey: benchKey(b)})
	benchPullFresh(b, env, env.Store)
}

func benchPullFresh(b *testing.B, env *servertest.Env, st store.Store) {
	clients := benchSeed(b, st, benchSeedBuckets, benchSeedContacts)
	ctx := context.Background()

	check := func(b *testing.B, got benchPulled) {
		b.Helper()
		if got.records["contact"] != benchSeedContacts || got.records["client"] != benchSeedBuckets || len(got.records) != 2 {
			b.Fatalf("pulled %v, want %d contacts and %d clients", got.records, benchSeedContacts, benchSeedBuckets)
		}
		if len(got.buckets) != benchSeedBuckets || got.snapshot != benchSeedBuckets {
			b.Fatalf("pulled %d buckets with %d snapshot updates, want %d of each", len(got.buckets), got.snapshot, benchSeedBuckets)
		}
	}
	report := func(b *testing.B, d time.Duration, pages int) {
		s := d.Seconds() / float64(b.N)
		b.ReportMetric(s, "s/fullpull")
		b.ReportMetric(float64(benchSeedContacts+benchSeedBuckets)/s, "records/s")
		b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
	}

	b.Run("engine", func(b *testing.B) {
		pull := benchEnginePull(env.Engine, benchReader("engine", clients))
		// Server side is the engine's page plus encoding it, as the handler
		// does for a binary client; decoding the pre-encoded records so the
		// benchmark can count them is taken out of the figures.
		var raw int
		var sizing time.Duration
		sizeOf := func(resp *v1.PullResponse) {
			wire, err := proto.Marshal(resp)
			if err != nil {
				b.Fatal(err)
			}
			raw += len(wire)
			t0 := time.Now()
			if _, err := syncengine.Materialize(resp); err != nil {
				b.Fatal(err)
			}
			sizing += time.Since(t0)
		}
		var d time.Duration
		pages := 0
		b.ResetTimer()
		for range b.N {
			sizing = 0
			start := time.Now()
			got, err := benchPullAll(ctx, pull, nil, sizeOf)
			d += time.Since(start) - sizing
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			check(b, got)
			pages += got.pages
			b.StartTimer()
		}
		report(b, d, pages)
		b.ReportMetric(float64(raw)/1e6/float64(b.N), "raw-MB")
	})

	for _, zstdOn := range []bool{true, false} {
		name := "http-gzip"
		if zstdOn {
			name = "http-zstd"
		}
		b.Run(name, func(b *testing.B) {
			token := "fresh-" + name
			env.SignIn(token, benchReader(name, clients))
			c, wire := benchHTTPClient(env, token, zstdOn)
			// Warm the connection (TLS handshake) outside the timed region.
			if _, err := c.Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Limit: 1}); err != nil {
				b.Fatal(err)
			}
			wire.n.Store(0)
			var d time.Duration
			pages := 0
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				got, err := benchPullAll(ctx, c.Pull, nil, nil)
				d += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				check(b, got)
				pages += got.pages
				b.StartTimer()
			}
			b.StopTimer()
			report(b, d, pages)
			b.ReportMetric(float64(wire.n.Load())/1e6/float64(b.N), "wire-MB")
			b.Logf("%s: response encodings %s", name, wire.encodings())
		})
	}
}

// BenchmarkPullDelta: on the 100,000-contact store, a device that is at the
// head pulls after 50 new contacts were pushed to one bucket; it must get
// exactly those 50 records, as a delta. Timed: the pull only. On each store.
func BenchmarkPullDelta(b *testing.B) { benchOnStores(b, servertest.Options{}, benchPullDelta) }

func benchPullDelta(b *testing.B, env *servertest.Env, st store.Store) {
	const news = 50
	clients := benchSeed(b, st, benchSeedBuckets, benchSeedContacts)
	ctx := context.Background()
	target := clients[len(clients)/2]

	writerDev := sample.NewDevice("delta-writer", time.Now, 4242)
	writer := identity.Identity{Area: "bench-area", UserID: writerDev.UserID, DeviceID: writerDev.ID, Role: identity.Worker, Buckets: []string{target}}
	pushNews := func(b *testing.B) {
		b.Helper()
		var chs []*v1.Change
		for range news {
			_, c := writerDev.NewContact(target, time.Now().Add(-time.Minute))
			chs = append(chs, c...)
		}
		resp, err := env.Engine.Push(ctx, &writer, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Changes: chs})
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range resp.GetResults() {
			if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
				b.Fatalf("change %d: %v", i, r.GetVerdict())
			}
		}
	}

	run := func(b *testing.B, pull benchPullFunc, wire *benchWire) {
		head, err := benchPullAll(ctx, pull, nil, nil) // catch up to the head
		if err != nil {
			b.Fatal(err)
		}
		cursor := head.cursor
		if wire != nil {
			wire.n.Store(0)
		}
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			pushNews(b)
			b.StartTimer()
			got, err := benchPullAll(ctx, pull, cursor, nil)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if got.records["contact"] != news || len(got.records) != 1 || len(got.buckets) != 1 || !got.buckets[target] || got.snapshot != 0 || got.pages != 1 {
				b.Fatalf("delta pull got %v in %d buckets (%d snapshots) over %d pages; want %d contacts of one bucket, one delta page", got.records, len(got.buckets), got.snapshot, got.pages, news)
			}
			cursor = got.cursor
			b.StartTimer()
		}
		b.StopTimer()
		if wire != nil {
			b.ReportMetric(float64(wire.n.Load())/float64(b.N), "wire-B/op")
		}
	}

	b.Run("engine", func(b *testing.B) {
		// The engine's pages carry records pre-encoded; decode them (as the
		// handler would for a JSON client) so they can be checked.
		pull := benchEnginePull(env.Engine, benchReader("delta-engine", clients))
		run(b, func(ctx context.Context, req *v1.PullRequest) (*v1.PullResponse, error) {
			resp, err := pull(ctx, req)
			if err != nil {
				return nil, err
			}
			return syncengine.Materialize(resp)
		}, nil)
	})
	b.Run("http-zstd", func(b *testing.B) {
		env.SignIn("delta-http", benchReader("delta-http", clients))
		c, wire := benchHTTPClient(env, "delta-http", true)
		run(b, c.Pull, wire)
	})
}
