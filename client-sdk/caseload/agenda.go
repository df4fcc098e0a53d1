package caseload

// The agenda index: the reads across the caseload (Agenda, Overdue) read
// a small index, not every record. It is derived from what the device
// shows, per client (bucket), and rebuilt lazily: whatever changes what a
// client's records show (a local write, a pulled page, a push's verdicts,
// an eviction) marks the bucket stale in the same transaction, and the
// next read rebuilds the stale buckets first. A store without the index
// (made before it, or reset) is indexed whole at its first such read.
//
//	g<start 8><bucket 16><record 16>  an appointment (not deleted): pending byte + its state
//	b<start 8><bucket 16><record 16>  the same, while it is booked
//	f<day 8><bucket 16><record 16>    a client's latest contact, with its follow-up day: pending byte + its state
//	t<from 8><bucket 16><client 16>   the client's next TOP (topdue.go)
//	x<bucket 16><key 41>              an index key the bucket holds now (one each)
//	s<bucket 16>                      the bucket's index is stale
//	m"index"                          the index exists (its layout version and the TOP schedule)

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/syncproto/caseday"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

const (
	pAgenda   = 'g'
	pBooked   = 'b'
	pFollowUp = 'f'
	pIndexed  = 'x'
	pStale    = 's'

	indexVersion = 3 // 3: held keys listed one by one under x<bucket><key>
	indexKeyLen  = 1 + 8 + 16 + 16
)

var metaIndex = metaKey("index")

// AgendaItem is an appointment with its client's name (empty if the device
// does not hold the client record).
type AgendaItem struct {
	Appointment
	ClientName string
}

// FollowUpDue is a contact whose follow-up date has passed with no later
// contact with the client.
type FollowUpDue struct {
	Contact
	ClientName string
}

// OverdueItems are what is overdue on the caseload.
type OverdueItems struct {
	// Appointments past their start still booked (no outcome), oldest
	// first.
	Appointments []AgendaItem
	// FollowUps passed, oldest first.
	FollowUps []FollowUpDue
}

// Agenda returns the appointments on the caseload that start in [from,
// to), sorted by start, whatever their status. It reads only what the
// device holds.
func (d *Device) Agenda(ctx context.Context, from, to time.Time) ([]AgendaItem, error) {
	if err := d.refreshIndex(ctx); err != nil {
		return nil, err
	}
	me := d.me()
	var out []AgendaItem
	err := d.read(func(txn *local.Txn) error {
		names := clientNames{}
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pAgenda}, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		end := timeKey(pAgenda, to)
		for it.Seek(timeKey(pAgenda, from)); it.Valid() && bytes.Compare(it.Key(), end) < 0; it.Next() {
			bucket := [16]byte(it.Key()[9:25])
			a, err := indexedAppointment(it, bucket)
			if err != nil {
				return err
			}
			name, err := names.of(d, txn, bucket, me)
			if err != nil {
				return err
			}
			out = append(out, AgendaItem{Appointment: a, ClientName: name})
		}
		return nil
	})
	return out, err
}

// Overdue returns the appointments past their start with no outcome and
// the follow-ups passed with no later contact, as of now by the device's
// clock (Config.Now). A follow-up is passed the day after its date, in the
// service's zone (package caseday), as the server counts it.
func (d *Device) Overdue(ctx context.Context) (OverdueItems, error) {
	now := d.cfg.Now()
	if err := d.refreshIndex(ctx); err != nil {
		return OverdueItems{}, err
	}
	me := d.me()
	var out OverdueItems
	err := d.read(func(txn *local.Txn) error {
		names := clientNames{}
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pBooked}})
		end := timeKey(pBooked, now)
		var keys [][]byte
		for it.Rewind(); it.Valid() && bytes.Compare(it.Key(), end) <= 0; it.Next() {
			keys = append(keys, it.KeyCopy())
		}
		it.Close()
		for _, k := range keys {
			k[0] = pAgenda
			raw, ok, err := get(txn, k)
			if err != nil || !ok {
				return err
			}
			bucket := [16]byte(k[9:25])
			a, err := decodeAppointment(raw, bucket)
			if err != nil {
				return err
			}
			name, err := names.of(d, txn, bucket, me)
			if err != nil {
				return err
			}
			out.Appointments = append(out.Appointments, AgendaItem{Appointment: a, ClientName: name})
		}
		fit := txn.NewIterator(local.IterOptions{Prefix: []byte{pFollowUp}, PrefetchValues: true})
		defer fit.Close()
		y, m, day := caseday.Today(now) // the service's day, not the tablet's zone
		fend := dayKey(pFollowUp, Date{y, m, day})
		for fit.Rewind(); fit.Valid() && bytes.Compare(fit.Key(), fend) < 0; fit.Next() {
			bucket := [16]byte(fit.Key()[9:25])
			var lr *localRecord
			if err := fit.Value(func(v []byte) error { lr, _ = decodeIndexed(v); return nil }); err != nil {
				return err
			}
			if lr == nil {
				return errors.New("caseload: corrupt agenda index")
			}
			name, err := names.of(d, txn, bucket, me)
			if err != nil {
				return err
			}
			out.FollowUps = append(out.FollowUps, FollowUpDue{Contact: toContact(uuidString(bucket[:]), lr), ClientName: name})
		}
		return nil
	})
	return out, err
}

// clientNames caches client names for one read.
type clientNames map[[16]byte]string

func (n clientNames) of(d *Device, txn *local.Txn, bucket [16]byte, me *v1.Author) (string, error) {
	if name, ok := n[bucket]; ok {
		return name, nil
	}
	st, _, err := d.view(txn, bucket, bucket, me)
	if err != nil {
		return "", err
	}
	name := ""
	if st.GetRecordType() == "client" {
		name = strings.TrimSpace(str(st, "given_name") + " " + str(st, "family_name"))
	}
	n[bucket] = name
	return name, nil
}

func indexedAppointment(it *local.Iterator, bucket [16]byte) (Appointment, error) {
	var (
		a   Appointment
		err error
	)
	if verr := it.Value(func(v []byte) error { a, err = decodeAppointment(v, bucket); return nil }); verr != nil {
		return Appointment{}, verr
	}
	return a, err
}

func decodeAppointment(v []byte, bucket [16]byte) (Appointment, error) {
	lr, err := decodeIndexed(v)
	if err != nil {
		return Appointment{}, err
	}
	return toAppointment(uuidString(bucket[:]), lr), nil
}

// decodeIndexed reads an index value: a pending byte, then a record state.
func decodeIndexed(v []byte) (*localRecord, error) {
	if len(v) == 0 {
		return nil, errors.New("caseload: corrupt agenda index")
	}
	st := &v1.RecordState{}
	if err := proto.Unmarshal(v[1:], st); err != nil {
		return nil, err
	}
	return &localRecord{state: st, pending: v[0] == 1}, nil
}

// timeKey is p and t as a number that sorts as t does.
func timeKey(p byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64([]byte{p}, uint64(t.UnixNano())^(1<<63))
}

// dayKey is p and a date's day number, sorting as the date does.
func dayKey(p byte, day Date) []byte {
	n := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400
	return binary.BigEndian.AppendUint64([]byte{p}, uint64(n)^(1<<63))
}

func entryKey(prefix []byte, bucket, record [16]byte) []byte {
	k := make([]byte, 0, indexKeyLen)
	k = append(k, prefix...)
	k = append(k, bucket[:]...)
	return append(k, record[:]...)
}
