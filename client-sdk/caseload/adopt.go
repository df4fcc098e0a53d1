package caseload

import (
	"fmt"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// aheadGap is how far past the highest mark it knows a store that takes
// over a device (Adopt, or SignIn on a new store) numbers its first change:
// further than any mark another store can have reached without this one
// learning it. The device's changes on the server may go past any mark a
// new store can know (an old installation's, a push whose answer was lost),
// and the server answers a change numbered at or below its mark as a
// duplicate of the one it holds: a store that went on from a mark below
// the server's would lose its first changes. Numbered far past it, the
// first push is answered with the server's real mark (a sequence reset, see
// renumber.go), and the changes are renumbered to follow it and sent again.
const aheadGap = 1 << 32

// Adopt makes this store, never signed in, the continuation of a device
// that was signed in and syncing from elsewhere: a client that kept its own
// session and sequence numbers (the throughcare CLI before it used this
// SDK), or an installation whose store was lost. s is that device's
// session, which this device holds from now on: the other client must
// forget it, since a session is renewed by one holder only (a refresh token
// presented twice ends it). highWater is the last sequence number of the
// device's changes the other client knows the server holds, and lastStamp
// the last time (HLC) it stamped a change with; 0 if not known.
//
// The server may hold changes of the device past highWater (a push whose
// answer was lost), so an adopted device numbers its first change aheadGap
// past highWater, and its first push learns the server's real mark: the
// changes are renumbered after it and sent again, within the same Sync,
// which reports no reset for it (the server lost nothing). Pulled state
// starts empty: the first Sync pulls everything.
func (d *Device) Adopt(s *v1.Session, highWater, lastStamp uint64) error {
	if s.GetUserId() == "" || s.GetDeviceId() == "" {
		return fmt.Errorf("caseload: %w: Adopt needs a session with a user and a device", ErrInvalid)
	}
	if highWater > 1<<62 {
		return fmt.Errorf("caseload: %w: high-water mark out of range", ErrInvalid)
	}
	s = proto.Clone(s).(*v1.Session)
	d.mu.Lock()
	var err error
	switch {
	case d.closed:
		err = ErrClosed
	case d.session != nil:
		err = fmt.Errorf("caseload: this device is already signed in; only a new store can adopt a device")
	default:
		if err = d.beginLocked(s, highWater, lastStamp, true); err != nil {
			err = fmt.Errorf("caseload: adopting the device: %w", err)
		}
	}
	d.mu.Unlock()
	if err != nil {
		return d.storageErr(err)
	}
	d.events.emit(Event{Kind: StatusChanged})
	return nil
}

// beginLocked makes s the first session of this store, which numbers its
// changes after mark and stamps them after lastStamp, all in one
// transaction. If ahead, the store takes over a device that may have sent
// changes past mark: it numbers from aheadGap past it, and notes where
// (metaAhead), so that the server's answer to its first push, a sequence
// reset, is taken for what it is (see renumber). d.mu is held.
func (d *Device) beginLocked(s *v1.Session, mark, lastStamp uint64, ahead bool) error {
	raw, err := proto.Marshal(s)
	if err != nil {
		return err
	}
	seq := mark
	if ahead {
		seq += aheadGap
	}
	err = durable(d.db, func(txn *local.Txn) error {
		if err := setSession(txn, s, raw); err != nil {
			return err
		}
		if err := txn.Set(metaSeq, be64(seq)); err != nil {
			return err
		}
		if ahead {
			if err := txn.Set(metaAhead, be64(seq)); err != nil {
				return err
			}
		}
		return txn.Set(metaClock, be64(lastStamp))
	})
	if err != nil {
		return err
	}
	d.session, d.seq = s, seq
	d.startClock(lastStamp)
	d.status.SignInRequired = false
	return nil
}
