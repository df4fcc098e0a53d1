package review

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/caseday"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// contactQuery is a validated ContactFilter (less the client and team,
// which choose the buckets read).
type contactQuery struct {
	worker, category         string
	from, to                 instant
	hasFrom, hasTo           bool
	state                    v1.ReviewState
	lateOnly, conflictsOnly  bool
	missedOnly, overdueOnly  bool
	clientID, teamID         string
	includeDeleted, needLate bool
	// consented leaves out clients whose consent to national monitoring
	// is withdrawn (exports: consent.go).
	consented bool
}

// newContactQuery validates a filter. Messages name fields, never values.
func newContactQuery(f *v1.ContactFilter) (*contactQuery, error) {
	q := &contactQuery{worker: f.GetWorkerId(), category: f.GetCategory(), state: f.GetReviewState(),
		lateOnly: f.GetLateOnly(), conflictsOnly: f.GetConflictsOnly(), clientID: f.GetClientId(), teamID: f.GetTeamId(),
		missedOnly: f.GetMissedOnly(), overdueOnly: f.GetFollowUpOverdueOnly(), includeDeleted: true, needLate: true}
	for _, c := range []struct{ name, v string }{{"worker_id", q.worker}, {"client_id", q.clientID}, {"team_id", q.teamID}} {
		if c.v != "" && !schema.ValidID(c.v) {
			return nil, invalid("filter.%s must be a lower-case UUID", c.name)
		}
	}
	if q.category != "" && !slices.Contains(schema.ContactCategories, q.category) {
		return nil, invalid("filter.category is not a contact category")
	}
	if _, ok := v1.ReviewState_name[int32(q.state)]; !ok {
		return nil, invalid("filter.review_state is not a review state")
	}
	if f.GetFrom() != nil {
		if err := f.GetFrom().CheckValid(); err != nil {
			return nil, invalid("filter.from is not a valid time")
		}
		q.from, q.hasFrom = instantOf(f.GetFrom().AsTime()), true
	}
	if f.GetTo() != nil {
		if err := f.GetTo().CheckValid(); err != nil {
			return nil, invalid("filter.to is not a valid time")
		}
		q.to, q.hasTo = instantOf(f.GetTo().AsTime()), true
	}
	if q.hasFrom && q.hasTo && q.from.compare(q.to) >= 0 {
		return nil, invalid("filter.from must be before filter.to")
	}
	return q, nil
}

// match applies the parts of the query a contact answers on its own.
func (q *contactQuery) match(c *contact) bool {
	return (q.includeDeleted || !c.deleted) &&
		(q.category == "" || c.category == q.category) &&
		(q.worker == "" || c.author == q.worker) &&
		(!q.hasFrom || c.at.compare(q.from) >= 0) &&
		(!q.hasTo || c.at.compare(q.to) < 0) &&
		(!q.conflictsOnly || c.conflicts)
}

// contactRef is a contact that passed the filter, with what the queue
// shows of it before its record is read.
type contactRef struct {
	id       uuid.UUID
	at       instant
	client   *client
	author   string
	state    v1.ReviewState
	note     uuid.UUID
	hasNote  bool
	late     bool
	position uint64
	// missed, overdue and clientConflicts: see ContactSummary.
	missed, overdue bool
	clientConflicts int
}

// listKey orders the queue: newest first by when it happened, then by id
// (descending).
type listKey struct {
	at instant
	id uuid.UUID
}

// before reports whether a comes before b in the queue.
func (a listKey) before(b listKey) bool {
	if c := a.at.compare(b.at); c != 0 {
		return c > 0
	}
	return bytes.Compare(a.id[:], b.id[:]) > 0
}

func (r *contactRef) key() listKey { return listKey{r.at, r.id} }

// Page tokens are opaque to callers: a version byte, then the position in
// the queue of the last contact returned.
const tokenVersion = 1

func encodeToken(k listKey) string {
	b := make([]byte, 0, 1+8+4+16)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(k.at.sec))
	b = binary.BigEndian.AppendUint32(b, uint32(k.at.nsec))
	b = append(b, k.id[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (*listKey, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 1+8+4+16 || b[0] != tokenVersion {
		return nil, invalid("page_token is not a token this server issued")
	}
	k := &listKey{at: instant{sec: int64(binary.BigEndian.Uint64(b[1:9])), nsec: int32(binary.BigEndian.Uint32(b[9:13]))}}
	if k.at.nsec < 0 || k.at.nsec >= 1e9 {
		return nil, invalid("page_token is not a token this server issued")
	}
	copy(k.id[:], b[13:])
	return k, nil
}

// top keeps the first k contacts in queue order of those offered: a heap
// whose root is the last of them.
type top struct {
	k  int
	xs []contactRef
}

// after reports whether xs[i] comes after xs[j] in the queue.
func (t *top) after(i, j int) bool { return t.xs[j].key().before(t.xs[i].key()) }

func (t *top) offer(r contactRef) {
	if len(t.xs) < t.k {
		t.xs = append(t.xs, r)
		for i := len(t.xs) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.after(i, p) {
				break
			}
			t.xs[i], t.xs[p] = t.xs[p], t.xs[i]
			i = p
		}
		return
	}
	if !r.key().before(t.xs[0].key()) {
		return
	}
	t.xs[0] = r
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(t.xs) && t.after(l, m) {
			m = l
		}
		if l+1 < len(t.xs) && t.after(l+1, m) {
			m = l + 1
		}
		if m == i {
			return
		}
		t.xs[i], t.xs[m] = t.xs[m], t.xs[i]
		i = m
	}
}

// sorted returns the kept contacts in queue order.
func (t *top) sorted() []contactRef {
	slices.SortFunc(t.xs, func(a, b contactRef) int {
		if a.key().before(b.key()) {
			return -1
		}
		if b.key().before(a.key()) {
			return 1
		}
		return 0
	})
	return t.xs
}

// ListContacts lists the contacts in the caller's reach that match the
// filter, newest first (by occurred_at, then id), a page at a time. Each
// comes with its client's name and team, its author's name, where its
// review stands (from its newest live review note), whether it had late
// work and when the server last accepted a change to it. Contacts marked
// deleted are listed too; their records say so.
//
// A filter naming a client or team out of reach answers NotFound; one
// naming a worker only selects (a worker out of reach simply matches
// nothing). page_size 0 means DefaultPageSize, larger than MaxPageSize
// means MaxPageSize; a page_token this server did not issue is Invalid.
func (s *Service) ListContacts(ctx context.Context, id *identity.Identity, req *v1.ListContactsRequest) (*v1.ListContactsResponse, error) {
	q, err := newContactQuery(req.GetFilter())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	after, err := decodeToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	sc, err := s.resolve(ctx, id, access.ReviewContacts, q.teamID)
	if err != nil {
		return nil, err
	}
	t := &top{k: size + 1}
	total := uint32(0)
	err = s.eachContact(ctx, sc, q, func(r contactRef) error {
		total++
		if after == nil || after.before(r.key()) {
			t.offer(r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	items := t.sorted()
	resp := &v1.ListContactsResponse{Total: total}
	if len(items) > size {
		items = items[:size]
		resp.NextPageToken = encodeToken(items[size-1].key())
	}
	if resp.Contacts, err = s.summaries(ctx, sc, items); err != nil {
		return nil, err
	}
	var clients []string
	for _, c := range resp.Contacts {
		if !slices.Contains(clients, c.GetClientId()) {
			clients = append(clients, c.GetClientId())
		}
	}
	if err := s.auditView(ctx, id, store.AuditViewContacts, clients, "", len(resp.Contacts)); err != nil {
		return nil, err
	}
	return resp, nil
}

// eachContact calls fn for every contact in reach that matches q, bucket
// by bucket in client id order.
func (s *Service) eachContact(ctx context.Context, sc *scope, q *contactQuery, fn func(contactRef) error) error {
	clients := sc.clients
	if q.clientID != "" {
		c, err := sc.client(q.clientID)
		if err != nil {
			return err
		}
		clients = []*client{c}
	}
	rd := newReader(s.st)
	today := caseday.TodayNumber(s.now())
	for _, c := range clients {
		b, err := rd.read(ctx, c)
		if err != nil {
			return err
		}
		if q.consented && b.excluded(s.now()) {
			continue
		}
		facts := b.facts(today)
		var late map[uuid.UUID]bool
		if q.needLate {
			if late, err = s.lateOf(ctx, c.id); err != nil {
				return err
			}
		}
		for i := range b.contacts {
			ct := &b.contacts[i]
			if !q.match(ct) {
				continue
			}
			n := b.noteOf(ct.id)
			r := contactRef{id: ct.id, at: ct.at, client: c, author: ct.author, state: n.reviewState(), late: late[ct.id], position: ct.position,
				missed: facts.missed[ct.id], overdue: facts.overdue(ct), clientConflicts: b.conflicted}
			if q.state != v1.ReviewState_REVIEW_STATE_UNSPECIFIED && r.state != q.state || q.lateOnly && !r.late ||
				q.missedOnly && !r.missed || q.overdueOnly && !r.overdue {
				continue
			}
			if n != nil {
				r.note, r.hasNote = n.id, true
			}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// lateOf returns the records of a bucket that had late work.
func (s *Service) lateOf(ctx context.Context, clientID string) (map[uuid.UUID]bool, error) {
	ids, err := s.st.LateRecords(ctx, clientID)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make(map[uuid.UUID]bool, len(ids))
	for _, s := range ids {
		if u, err := uuid.Parse(s); err == nil {
			out[u] = true
		}
	}
	return out, nil
}

// summaries reads the records of a page of contacts and dresses them for
// the queue, in the page's order.
func (s *Service) summaries(ctx context.Context, sc *scope, items []contactRef) ([]*v1.ContactSummary, error) {
	byClient := map[*client][]int{}
	authors := map[string]bool{}
	for i, r := range items {
		byClient[r.client] = append(byClient[r.client], i)
		authors[r.author] = true
	}
	recs := make([]*v1.RecordState, len(items))
	synced := make([]time.Time, len(items))
	for c, idx := range byClient {
		ids := make([]string, len(idx))
		for j, i := range idx {
			ids[j] = items[i].id.String()
		}
		states, err := s.st.Records(ctx, c.id, ids)
		if err != nil {
			return nil, storeErr(err)
		}
		positions := make([]uint64, 0, len(idx))
		for j, i := range idx {
			if st := states[ids[j]]; st != nil {
				recs[i] = merge.Compact(st)
				positions = append(positions, st.GetPosition())
			}
		}
		entries, err := s.st.LogEntries(ctx, c.id, positions)
		if err != nil {
			return nil, storeErr(err)
		}
		for _, i := range idx {
			if recs[i] != nil {
				if e := entries[recs[i].GetPosition()]; e != nil {
					synced[i] = e.GetReceivedAt().AsTime()
				}
			}
		}
	}
	names, err := s.names(ctx, sc.id.Area, authors)
	if err != nil {
		return nil, err
	}
	out := make([]*v1.ContactSummary, 0, len(items))
	for i, r := range items {
		if recs[i] == nil {
			continue // cannot happen: records are never removed
		}
		cs := &v1.ContactSummary{Record: recs[i], ClientId: r.client.id, ClientName: r.client.name, TeamId: r.client.team,
			AuthorId: r.author, AuthorName: names[r.author], ReviewState: r.state, Late: r.late,
			MissedAppointment: r.missed, FollowUpOverdue: r.overdue, ClientConflicts: uint32(r.clientConflicts)}
		if r.hasNote {
			cs.ReviewNoteId = r.note.String()
		}
		if !synced[i].IsZero() {
			cs.SyncedAt = timestamppb.New(synced[i])
		}
		out = append(out, cs)
	}
	return out, nil
}

// errContactNF answers a contact that does not exist or is out of reach.
var errContactNF = errkind.E(errkind.NotFound, "contact not found")
