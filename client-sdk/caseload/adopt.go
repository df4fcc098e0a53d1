package caseload

import (
	"fmt"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// adoptGap is how far past the high-water mark it is given an adopted
// device numbers its first change: further than any mark the other client
// can have reached without learning it (see Adopt).
const adoptGap = 1 << 32

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
// answer was lost), and it answers a change numbered at or below its mark
// as a duplicate of the one it holds, so a device that went on from
// highWater could lose its next changes. An adopted device therefore
// numbers its first change far past highWater: the server answers that push
// with its real mark (a sequence reset, see renumber.go), the changes are
// renumbered to follow it and sent again, and the first Sync reports Reset.
// Pulled state starts empty: the first Sync pulls everything.
func (d *Device) Adopt(s *v1.Session, highWater, lastStamp uint64) error {
	if s.GetUserId() == "" || s.GetDeviceId() == "" {
		return fmt.Errorf("caseload: %w: Adopt needs a session with a user and a device", ErrInvalid)
	}
	if highWater > 1<<62 {
		return fmt.Errorf("caseload: %w: high-water mark out of range", ErrInvalid)
	}
	s = proto.Clone(s).(*v1.Session)
	raw, err := proto.Marshal(s)
	if err != nil {
		return err
	}
	seq := highWater + adoptGap
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return ErrClosed
	case d.session != nil:
		d.mu.Unlock()
		return fmt.Errorf("caseload: this device is already signed in; only a new store can adopt a device")
	}
	err = durable(d.db, func(txn *local.Txn) error {
		if err := setSession(txn, s, raw); err != nil {
			return err
		}
		if err := txn.Set(metaSeq, be64(seq)); err != nil {
			return err
		}
		return txn.Set(metaClock, be64(lastStamp))
	})
	if err == nil {
		d.session, d.seq = s, seq
		d.startClock(lastStamp)
		d.status.SignInRequired = false
	}
	d.mu.Unlock()
	if err != nil {
		return fmt.Errorf("caseload: adopting the device: %w", d.storageErr(err))
	}
	d.events.emit(Event{Kind: StatusChanged})
	return nil
}
