package caseload

// TOPs due across the caseload, from the agenda index: each client's next
// TOP is worked out when its bucket is indexed (what the schedule says
// does not depend on the day, only its state does) and kept under the day
// its window opens:
//
//	t<from 8><bucket 16><client 16>  the client's next TOP: stage, due day, window end

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"github.com/throughcare/throughcare/syncproto/caseday"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

const pTOPDue = 't'

// TOPDue is a client whose next TOP's window has opened.
type TOPDue struct {
	ClientID, ClientName string
	topschedule.Next
}

// TOPsDue returns the clients on the device whose next TOP is due or
// overdue on the device's clock (Config.Now) under Config.TOPSchedule,
// earliest due first.
func (d *Device) TOPsDue(ctx context.Context) ([]TOPDue, error) {
	today := d.cfg.Now()
	if err := d.refreshIndex(ctx); err != nil {
		return nil, err
	}
	me := d.me()
	var out []TOPDue
	err := d.read(func(txn *local.Txn) error {
		names := clientNames{}
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pTOPDue}, PrefetchValues: true})
		defer it.Close()
		y, m, day := caseday.Today(today)
		end := dayKey(pTOPDue, DateOf(time.Date(y, m, day+1, 0, 0, 0, 0, time.UTC))) // windows open by today
		for it.Rewind(); it.Valid() && bytes.Compare(it.Key(), end) < 0; it.Next() {
			bucket := [16]byte(it.Key()[9:25])
			var n topschedule.Next
			err := it.Value(func(v []byte) error {
				var ok bool
				n, ok = decodeNext(v, dayOfKey(it.Key()))
				if !ok {
					return errors.New("caseload: corrupt TOP index")
				}
				return nil
			})
			if err != nil {
				return err
			}
			n = d.cfg.TOPSchedule.State(n, today)
			name, err := names.of(d, txn, bucket, me)
			if err != nil {
				return err
			}
			out = append(out, TOPDue{ClientID: uuidString(bucket[:]), ClientName: name, Next: n})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b TOPDue) int { return cmp.Or(a.On.Compare(b.On), strings.Compare(a.ClientID, b.ClientID)) })
	return out, err
}

// scheduleOf is what the schedule needs of a client and its TOPs.
func scheduleOf(c Client, reviews []OutcomeReview) topschedule.Client {
	sc := topschedule.Client{TreatmentStart: c.TreatmentStarted.day(), Discharged: c.TreatmentEnded.day()}
	for _, r := range reviews {
		if !r.Deleted {
			sc.TOPs = append(sc.TOPs, topschedule.TOP{Day: r.InterviewDate.day(), Stage: r.Stage})
		}
	}
	return sc
}

// topDueEntry is a bucket's TOP index entry, if its client needs one.
func topDueEntry(bucket [16]byte, recs map[string]*localRecord, s topschedule.Schedule) (indexEntry, bool) {
	clientID := uuidString(bucket[:])
	cr := recs[clientID]
	if cr == nil || cr.state.GetRecordType() != "client" || merge.IsDeleted(cr.state) {
		return indexEntry{}, false
	}
	var reviews []OutcomeReview
	for _, r := range recs {
		if r.state.GetRecordType() == "outcome_review" {
			reviews = append(reviews, toOutcomeReview(clientID, r))
		}
	}
	n := s.NextTOP(scheduleOf(toClient(cr.state, cr.pending), reviews), time.Time{})
	if n.Stage == "" {
		return indexEntry{}, false
	}
	return indexEntry{entryKey(dayKey(pTOPDue, DateOf(n.From)), bucket, bucket), encodeNext(n)}, true
}

// encodeNext is a Next's stage, due day and window end (its From is the
// key's day).
func encodeNext(n topschedule.Next) []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(n.On.Unix()/86400))
	v = binary.BigEndian.AppendUint64(v, uint64(n.To.Unix()/86400))
	return append(v, n.Stage...)
}

func decodeNext(v []byte, from time.Time) (topschedule.Next, bool) {
	if len(v) < 16 {
		return topschedule.Next{}, false
	}
	day := func(b []byte) time.Time { return time.Unix(int64(binary.BigEndian.Uint64(b))*86400, 0).UTC() }
	return topschedule.Next{Stage: string(v[16:]), From: from, On: day(v[:8]), To: day(v[8:16])}, true
}

// dayOfKey is the day of a dayKey'd index key.
func dayOfKey(k []byte) time.Time {
	return time.Unix(int64(binary.BigEndian.Uint64(k[1:9])^(1<<63))*86400, 0).UTC()
}
