package review

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// ListConflicts lists the open conflicts on records in reach (of one
// client if clientID is set: NotFound if out of reach), oldest first by
// when they were detected, with the names of the people who wrote the
// values.
func (s *Service) ListConflicts(ctx context.Context, id *identity.Identity, clientID string) (*v1.ListConflictsResponse, error) {
	sc, err := s.resolve(ctx, id, access.ReviewConflicts, "")
	if err != nil {
		return nil, err
	}
	clients := sc.clients
	if clientID != "" {
		c, err := sc.client(clientID)
		if err != nil {
			return nil, err
		}
		clients = []*client{c}
	}
	var out []*v1.ConflictSummary
	users := map[string]bool{}
	var r rec
	for _, c := range clients {
		var found []*v1.RecordState
		err := s.st.ScanRecords(ctx, []string{c.id}, func(_ string, b []byte) error {
			if err := r.parse(b); err != nil {
				return err
			}
			if string(r.typ) == "client" && string(r.id) == c.id {
				c.name = strings.TrimSpace(string(r.str("given_name")) + " " + string(r.str("family_name")))
			}
			if r.conflicts == 0 {
				return nil
			}
			st := &v1.RecordState{}
			if err := proto.Unmarshal(b, st); err != nil {
				return err
			}
			found = append(found, st)
			return nil
		})
		if err != nil {
			return nil, storeErr(err)
		}
		for _, st := range found {
			for _, cf := range st.GetConflicts() {
				out = append(out, &v1.ConflictSummary{ClientId: c.id, ClientName: c.name, RecordId: st.GetRecordId(),
					RecordType: st.GetRecordType(), Conflict: cf})
				users[cf.GetCurrent().GetAuthor().GetUserId()] = true
				users[cf.GetIncoming().GetAuthor().GetUserId()] = true
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *v1.ConflictSummary) int {
		at, bt := a.GetConflict().GetDetectedAt().AsTime(), b.GetConflict().GetDetectedAt().AsTime()
		if c := at.Compare(bt); c != 0 {
			return c
		}
		if c := strings.Compare(a.GetClientId(), b.GetClientId()); c != 0 {
			return c
		}
		if c := strings.Compare(a.GetRecordId(), b.GetRecordId()); c != 0 {
			return c
		}
		return cmp.Compare(a.GetConflict().GetId(), b.GetConflict().GetId())
	})
	names, err := s.names(ctx, id.Area, users)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*v1.ConflictSummary{}
	}
	resp := &v1.ListConflictsResponse{Conflicts: out, People: people(names)}
	var seen []string
	for _, c := range resp.GetConflicts() {
		if !slices.Contains(seen, c.GetClientId()) {
			seen = append(seen, c.GetClientId())
		}
	}
	if err := s.auditView(ctx, id, store.AuditViewConflicts, seen, "", len(resp.GetConflicts())); err != nil {
		return nil, err
	}
	return resp, nil
}

// Resolution settles a conflict: Choice picks one of its values, or Value
// (when Choice is unset) is a new value for the field.
type Resolution struct {
	Choice v1.ConflictChoice
	Value  *v1.Value
}

var (
	errRecordNF   = errkind.E(errkind.NotFound, "record not found")
	errConflictNF = errkind.E(errkind.NotFound, "conflict not found")
	errResolved   = errkind.E(errkind.Precondition, "this conflict has already been resolved")
	errMoved      = errkind.E(errkind.Precondition, "the field changed while the conflict was being resolved; reload it and try again")
)

// ResolveConflict settles an open conflict on a record in reach by writing
// the field once more, as a normal server-authored change on the caller's
// behalf whose base is the field's current stamp: merging it closes every
// open conflict on the field, every device converges on its value, and it
// stays in the record's history. It returns the change's position in the
// client's log.
//
//   - CURRENT keeps the value now shown (it is written again, newer);
//   - INCOMING takes the conflict's other value: the side not now shown
//     (the incoming one if the field has moved on from both);
//   - a Value is validated against the schema for the field.
//
// The caller's role must be allowed to write the field (a supervisor may
// not write client.area: Forbidden). An unknown client, record or conflict
// is NotFound; a conflict that was open once and has been resolved since
// is Precondition, as is a field that changed while this ran.
func (s *Service) ResolveConflict(ctx context.Context, id *identity.Identity, clientID, recordID string, conflictID uint64, res Resolution) (uint64, error) {
	switch {
	case conflictID == 0:
		return 0, invalid("conflict_id is required")
	case res.Value == nil && res.Choice != v1.ConflictChoice_CONFLICT_CHOICE_CURRENT && res.Choice != v1.ConflictChoice_CONFLICT_CHOICE_INCOMING:
		return 0, invalid("a resolution needs a choice (CURRENT or INCOMING) or a value")
	case res.Value != nil && res.Choice != v1.ConflictChoice_CONFLICT_CHOICE_UNSPECIFIED:
		return 0, invalid("a resolution takes a choice or a value, not both")
	}
	sc, err := s.resolve(ctx, id, access.ResolveConflicts, "")
	if err != nil {
		return 0, err
	}
	c, err := sc.client(clientID)
	if err != nil {
		return 0, err
	}
	if !schema.ValidID(recordID) {
		return 0, errRecordNF
	}
	m, err := s.st.Records(ctx, c.id, []string{recordID})
	if err != nil {
		return 0, storeErr(err)
	}
	st := m[recordID]
	if st == nil {
		return 0, errRecordNF
	}
	i := slices.IndexFunc(st.GetConflicts(), func(cf *v1.Conflict) bool { return cf.GetId() == conflictID })
	if i < 0 {
		return 0, s.closedConflict(ctx, c.id, recordID, conflictID)
	}
	cf := st.GetConflicts()[i]
	field := cf.GetField()
	cur := merge.Field(st, field)
	var value *v1.Value
	switch {
	case res.Value != nil:
		if access.AuthorFixed(schema.Builtin(), st.GetRecordType(), field) {
			return 0, invalid("a record's author can only be settled by choosing one of its values")
		}
		value = proto.Clone(res.Value).(*v1.Value)
	case res.Choice == v1.ConflictChoice_CONFLICT_CHOICE_CURRENT:
		value = cur.GetValue()
		if cur == nil {
			value = cf.GetCurrent().GetValue()
		}
	default: // INCOMING: the side not now shown
		value = cf.GetIncoming().GetValue()
		if cur != nil && merge.SameStamp(cur.GetStamp(), cf.GetIncoming().GetStamp()) {
			value = cf.GetCurrent().GetValue()
		}
	}
	if value == nil || value.GetKind() == nil {
		return 0, invalid("the chosen value is empty")
	}
	base := cur.GetStamp()
	pos, err := s.write(ctx, id, store.AuditResolveConflict, c.id, st.GetRecordType(), recordID, st, []noteField{{field, value}},
		func(now *v1.RecordState) error {
			// Resolve only what the caller saw: the conflict still open
			// and the field still at the stamp read above.
			if !slices.ContainsFunc(now.GetConflicts(), func(x *v1.Conflict) bool { return x.GetId() == conflictID }) {
				return errResolved
			}
			if !merge.SameStamp(merge.Field(now, field).GetStamp(), base) {
				return errMoved
			}
			return nil
		})
	if err != nil {
		return 0, err
	}
	s.log.Info().Str("user_id", id.UserID).Str("client_id", c.id).Str("record_id", recordID).
		Uint64("conflict_id", conflictID).Str("field", field).Str("choice", res.Choice.String()).Uint64("position", pos).
		Msg("conflict resolved")
	return pos, nil
}

// closedConflict says why a conflict is not open on a record: resolved
// (its id is in the record's history as raised) or never there.
func (s *Service) closedConflict(ctx context.Context, clientID, recordID string, conflictID uint64) error {
	h, err := s.st.History(ctx, clientID, recordID)
	if err != nil {
		return storeErr(err)
	}
	for _, e := range h {
		if e.GetConflictId() == conflictID {
			return errResolved
		}
	}
	return errConflictNF
}
