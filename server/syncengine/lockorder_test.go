package syncengine_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// touchOrder records the order in which a push's transaction first
// touches each bucket.
type touchOrder struct {
	store.Store
	first []string
}

func (o *touchOrder) Buckets(ctx context.Context, fn func(tx store.BucketTx) error) error {
	o.first = nil
	return o.Store.Buckets(ctx, func(tx store.BucketTx) error { return fn(&touchTx{tx, o}) })
}

type touchTx struct {
	store.BucketTx
	o *touchOrder
}

func (t *touchTx) touch(b string) {
	if !slices.Contains(t.o.first, b) {
		t.o.first = append(t.o.first, b)
	}
}

func (t *touchTx) Head(b string) (uint64, error) { t.touch(b); return t.BucketTx.Head(b) }
func (t *touchTx) Record(b, r string) (*v1.RecordState, error) {
	t.touch(b)
	return t.BucketTx.Record(b, r)
}

// A push touches its buckets in sorted order before anything else, so a
// store that locks buckets as they are touched (PostgreSQL) cannot
// deadlock two pushes that share buckets in opposite orders.
func TestPushTouchesBucketsInSortedOrder(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	o := &touchOrder{Store: st}
	e := newEngine(t, o, nil)
	dev := sample.NewDevice("worker", time.Now, 5)
	var chs []*v1.Change
	var clients []string
	for range 4 {
		c, cc := dev.NewClient("Leeds")
		clients = append(clients, c)
		chs = append(chs, cc...)
	}
	// The batch names the buckets in descending order.
	slices.SortStableFunc(chs, func(a, b *v1.Change) int { return strings.Compare(b.GetClientId(), a.GetClientId()) })
	for i, ch := range chs {
		ch.DeviceSeq = uint64(i + 1)
	}
	id := &identity.Identity{Area: "area", UserID: "worker", DeviceID: dev.ID, Role: identity.Admin, Buckets: clients}
	if _, err := e.Push(context.Background(), id, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs}); err != nil {
		t.Fatal(err)
	}
	if want := slices.Sorted(slices.Values(clients)); !slices.Equal(o.first, want) {
		t.Errorf("buckets first touched in the order %v, want sorted %v", o.first, want)
	}
}
