package caseload

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"connectrpc.com/connect"
	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// RunOptions tunes Run.
type RunOptions struct {
	// Live follows the server's stream while online, so changes arrive as
	// they are made; otherwise Run syncs every Interval.
	Live bool
	// Interval between syncs when not live (default one minute). A local
	// write triggers a sync sooner either way.
	Interval time.Duration
	// MaxBackoff caps the wait after failures (default five minutes).
	MaxBackoff time.Duration
	// OnError, if set, is told of each failed attempt (for logs; the error
	// carries no personal data).
	OnError func(error)
}

// Run keeps the device in sync until ctx ends. It syncs, then follows the
// live stream or waits, and syncs again soon after every local write.
// Network and server failures are retried with exponential backoff and
// jitter. It returns ctx's error, ErrSignInRequired when the session is
// over (sign in, then Run again), or an error that retrying cannot fix
// (*SequenceError, ErrClosed).
func (d *Device) Run(ctx context.Context, o RunOptions) error {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	ready, take, stop := d.Watch()
	defer stop()
	failures := 0
	fail := func(err error) error {
		if o.OnError != nil {
			o.OnError(err)
		}
		failures++
		return sleep(ctx, backoff(failures, o.MaxBackoff))
	}
	for {
		_, err := d.Sync(ctx)
		if err == nil {
			failures = 0
			if o.Live {
				err = d.follow(ctx, ready, take) // nil: sync again now
			} else {
				err = waitForWrite(ctx, ready, take, o.Interval)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fatal(err) {
			return err
		}
		if err != nil {
			if err := fail(err); err != nil {
				return err
			}
		}
	}
}

func fatal(err error) bool {
	var seq *SequenceError
	return errors.Is(err, ErrSignInRequired) || errors.Is(err, ErrClosed) || errors.Is(err, ErrNotEnrolled) ||
		errors.Is(err, ErrWrongKey) || errors.As(err, &seq)
}

// backoff is the wait after n failures in a row: doubling from a second,
// capped, with full jitter over its upper half so a fleet of tablets
// coming back online at once spreads out.
func backoff(n int, max time.Duration) time.Duration {
	d := time.Second << min(n-1, 20)
	if d > max || d <= 0 {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitForWrite returns after interval, or sooner after a local write.
func waitForWrite(ctx context.Context, ready <-chan struct{}, take func() []Event, interval time.Duration) error {
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		case _, ok := <-ready:
			if !ok {
				return ErrClosed
			}
			if hasWrite(take()) {
				return nil
			}
		}
	}
}

func hasWrite(evs []Event) bool {
	for _, ev := range evs {
		if ev.Kind == LocalWrite {
			return true
		}
	}
	return false
}

// follow applies the live stream's pages until the stream ends or a local
// write needs sending (nil: sync again now).
func (d *Device) follow(ctx context.Context, ready <-chan struct{}, take func() []Event) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cursor []byte
	if err := d.db.View(func(txn *local.Txn) error {
		var err error
		cursor, _, err = get(txn, metaCursor)
		return err
	}); err != nil {
		return err
	}
	stream, err := d.sync.Subscribe(ctx, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: d.reg.Version(), Cursor: cursor})
	if err != nil {
		return err
	}
	// Closing ends the subscription, which is over either way: what it
	// delivered is applied, and a failed close leaves nothing to redo.
	defer func() { _ = stream.Close() }()
	msgs := make(chan *v1.SubscribeResponse)
	done := make(chan error, 1)
	go func() {
		for stream.Receive() {
			select {
			case msgs <- stream.Msg():
			case <-ctx.Done():
				done <- ctx.Err()
				return
			}
		}
		done <- stream.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-ready:
			if !ok {
				return ErrClosed
			}
			if hasWrite(take()) {
				return nil
			}
		case m := <-msgs:
			if ka := m.GetKeepalive(); ka != nil {
				d.learnOffset(ka.GetServerTime(), time.Time{})
				continue
			}
			if page := m.GetChanges(); page != nil {
				if err := d.applyLive(page); err != nil {
					return err
				}
			}
		case err := <-done:
			return streamEnd(ctx, d, err)
		}
	}
}

// applyLive applies a stream page, serialised with Sync.
func (d *Device) applyLive(page *v1.PullResponse) error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	if err := d.roomToPull(); err != nil {
		return err // Run backs off; the next Sync resumes from the cursor
	}
	d.learnOffset(page.GetServerTime(), time.Time{})
	p, err := pageOf(page)
	if err != nil {
		return err
	}
	var rep SyncReport
	return d.pulledErr(d.applyPage(p, &rep))
}

// streamEnd turns the stream's end into what Run should do: nil to sync
// again at once, an error to back off (or stop).
func streamEnd(ctx context.Context, d *Device, err error) error {
	if err == nil {
		return nil
	}
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		for _, det := range cerr.Details() {
			if m, derr := det.Value(); derr == nil {
				if c, ok := m.(*v1.StreamClosed); ok {
					switch c.GetReason() {
					case v1.CloseReason_CLOSE_REASON_MEMBERSHIP_CHANGED, v1.CloseReason_CLOSE_REASON_MAX_AGE:
						return nil // pull the new caseload, then follow again
					case v1.CloseReason_CLOSE_REASON_SESSION_ENDED:
						return d.refresh(ctx)
					}
				}
			}
		}
		if cerr.Code() == connect.CodeUnauthenticated {
			return d.refresh(ctx)
		}
	}
	if _, ok := resetReason(err); ok {
		return nil // the next Sync's pull resets
	}
	return err
}
