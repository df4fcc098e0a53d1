// Package merge holds Throughcare's merge rules, shared by the server and the
// SDK so that both compute the same state from the same changes.
//
// A record's state is a set of fields. An ordinary field is a last-writer-wins
// register: the value with the highest stamp wins, ties broken by replica id.
// A set field (for example a client's risk flags) is an add-wins
// observed-remove set: a remove takes away only the additions its device had
// seen, so a concurrent add survives. Deleting a record writes a tombstone to
// the reserved field "deleted"; records are never physically removed.
//
// Two functions change state. [Merge] joins two states of a record; it is
// commutative, associative and idempotent, so replicas that have seen the same
// changes, in any order and with any duplicates, hold the same fields.
// [Apply] applies one change and also reports what it replaced and whether it
// was concurrent with the current value: a change whose base (the stamp of
// the value its user saw) is not the current value's stamp raises a
// [throughcarev1.Conflict] holding both values. The server applies each
// change exactly once (it deduplicates by device sequence), so conflicts are
// recorded once; they are annotations the server adds to the state, and
// devices take the server's list as it comes.
//
// States are held "expanded" (every field carries its own stamp and author)
// while being worked on, and "compacted" (fields sharing the record's stamp
// and author omit them) on disk and on the wire: see [Expand] and [Compact].
package merge

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// DeletedField is the reserved field that holds a record's tombstone.
const DeletedField = "deleted"

// CompareStamps orders two stamps by time, then replica; a nil stamp orders
// before every other stamp.
func CompareStamps(a, b *v1.Stamp) int {
	return hlc.Compare(a.GetTime(), a.GetReplica(), b.GetTime(), b.GetReplica())
}

// SameStamp reports whether two stamps are equal (nil equals the zero stamp).
func SameStamp(a, b *v1.Stamp) bool { return CompareStamps(a, b) == 0 }

// NewRecord returns an empty record state.
func NewRecord(recordID, recordType string) *v1.RecordState {
	return &v1.RecordState{RecordId: recordID, RecordType: recordType}
}

// IsDeleted reports whether the record carries a tombstone.
func IsDeleted(r *v1.RecordState) bool { return Field(r, DeletedField) != nil }

// Field returns the state of the named field, or nil if it has no value.
func Field(r *v1.RecordState, name string) *v1.FieldState {
	i, ok := findField(r.GetFields(), name)
	if !ok {
		return nil
	}
	return r.Fields[i]
}

func findField(fs []*v1.FieldState, name string) (int, bool) {
	return slices.BinarySearchFunc(fs, name, func(f *v1.FieldState, n string) int { return strings.Compare(f.GetField(), n) })
}

// Outcome reports what [Apply] did.
type Outcome struct {
	// Duplicate is true if the change was already part of the state; nothing
	// was done.
	Duplicate bool
	// Won is true if the change is now (part of) the field's visible value.
	Won bool
	// Replaced is the field's state before the change, or nil.
	Replaced *v1.FieldState
	// Conflict is the conflict the change raised, or nil.
	Conflict *v1.Conflict
	// Resolved lists the ids of conflicts the change resolved.
	Resolved []uint64
}

// Apply applies a change written by author to the expanded record state r, in
// place. A raised conflict gets id conflictID and detection time now. Set
// fields merge without conflicts; ordinary fields raise a conflict when the
// change's base is not the current value's stamp.
func Apply(r *v1.RecordState, ch *v1.Change, author *v1.Author, conflictID uint64, now time.Time) Outcome {
	if r.RecordType == "" {
		r.RecordType = ch.GetRecordType()
	}
	i, exists := findField(r.Fields, ch.GetField())
	var cur *v1.FieldState
	if exists {
		cur = r.Fields[i]
	}
	var out Outcome
	if cur != nil {
		out.Replaced = proto.Clone(cur).(*v1.FieldState)
	}
	switch v := ch.GetValue().GetKind().(type) {
	case *v1.Value_SetAdd, *v1.Value_SetRemove:
		next := &v1.FieldState{Field: ch.GetField(), Value: &v1.Value{Kind: &v1.Value_SetState{SetState: &v1.SetState{}}}}
		if cur != nil && cur.GetValue().GetSetState() != nil {
			next = proto.Clone(cur).(*v1.FieldState)
		}
		changed := applySetOp(next.Value.GetSetState(), v, ch.GetStamp())
		newer := CompareStamps(ch.GetStamp(), next.GetStamp()) > 0
		if !changed && !newer {
			// Already part of the state (a re-delivery), or subsumed by it.
			out.Duplicate = cur != nil
			return out
		}
		// A newer operation that changes no membership (a second remove of
		// the same additions) is still an edit: it moves the field's stamp
		// and author, as Merge's highest-stamp rule does, whatever the order.
		if newer {
			next.Stamp = ch.GetStamp()
			next.Author = author
		}
		out.Won = true
		r.Fields = putField(r.Fields, i, exists, next)
		return out
	}

	if cur != nil && SameStamp(cur.GetStamp(), ch.GetStamp()) {
		out.Duplicate = true
		return out
	}
	if cur != nil && ch.GetField() != DeletedField {
		if SameStamp(ch.GetBase(), cur.GetStamp()) {
			out.Resolved = resolveConflicts(r, ch.GetField())
		} else {
			out.Conflict = &v1.Conflict{
				Id:         conflictID,
				Field:      ch.GetField(),
				Current:    &v1.ConflictSide{Value: cur.GetValue(), Stamp: cur.GetStamp(), Author: cur.GetAuthor()},
				Incoming:   &v1.ConflictSide{Value: ch.GetValue(), Stamp: ch.GetStamp(), Author: author},
				DetectedAt: timestamppb.New(now),
			}
			r.Conflicts = append(r.Conflicts, out.Conflict)
		}
	}
	if cur == nil || CompareStamps(ch.GetStamp(), cur.GetStamp()) > 0 {
		out.Won = true
		r.Fields = putField(r.Fields, i, exists, &v1.FieldState{Field: ch.GetField(), Value: ch.GetValue(), Stamp: ch.GetStamp(), Author: author})
	}
	return out
}

func putField(fs []*v1.FieldState, i int, exists bool, f *v1.FieldState) []*v1.FieldState {
	if exists {
		fs[i] = f
		return fs
	}
	return slices.Insert(fs, i, f)
}

func resolveConflicts(r *v1.RecordState, field string) []uint64 {
	var resolved []uint64
	r.Conflicts = slices.DeleteFunc(r.Conflicts, func(c *v1.Conflict) bool {
		if c.GetField() == field {
			resolved = append(resolved, c.GetId())
			return true
		}
		return false
	})
	return resolved
}

// applySetOp applies an add or remove to a set state and reports whether the
// state changed.
func applySetOp(s *v1.SetState, op any, stamp *v1.Stamp) bool {
	switch op := op.(type) {
	case *v1.Value_SetAdd:
		el := setElement(s, op.SetAdd.GetElement())
		if containsStamp(el.Removed, stamp) || containsStamp(el.Adds, stamp) {
			return false
		}
		el.Adds = insertStamp(el.Adds, stamp)
		return true
	case *v1.Value_SetRemove:
		if len(op.SetRemove.GetObserved()) == 0 {
			return false // removes nothing (and leaves no empty element behind)
		}
		el := setElement(s, op.SetRemove.GetElement())
		changed := false
		for _, o := range op.SetRemove.GetObserved() {
			if !containsStamp(el.Removed, o) {
				el.Removed = insertStamp(el.Removed, o)
				changed = true
			}
			if i, ok := slices.BinarySearchFunc(el.Adds, o, CompareStamps); ok {
				el.Adds = slices.Delete(el.Adds, i, i+1)
				changed = true
			}
		}
		return changed
	}
	return false
}

func setElement(s *v1.SetState, element string) *v1.SetElement {
	i, ok := slices.BinarySearchFunc(s.Elements, element, func(e *v1.SetElement, n string) int { return strings.Compare(e.GetElement(), n) })
	if !ok {
		s.Elements = slices.Insert(s.Elements, i, &v1.SetElement{Element: element})
	}
	return s.Elements[i]
}

func containsStamp(ss []*v1.Stamp, s *v1.Stamp) bool {
	_, ok := slices.BinarySearchFunc(ss, s, CompareStamps)
	return ok
}

func insertStamp(ss []*v1.Stamp, s *v1.Stamp) []*v1.Stamp {
	i, ok := slices.BinarySearchFunc(ss, s, CompareStamps)
	if ok {
		return ss
	}
	return slices.Insert(ss, i, s)
}

// SetMembers returns the elements currently in a set field's state, sorted.
func SetMembers(s *v1.SetState) []string {
	var out []string
	for _, e := range s.GetElements() {
		if len(e.GetAdds()) > 0 {
			out = append(out, e.GetElement())
		}
	}
	return out
}

// Merge returns the join of two expanded states of the same record. Neither
// argument is modified. Field values merge by their rules; the conflict list
// is taken from the state with the higher position (the server's newer
// annotation), or the union of both when positions are equal.
func Merge(a, b *v1.RecordState) *v1.RecordState {
	out := &v1.RecordState{RecordId: a.GetRecordId(), RecordType: a.GetRecordType(), Position: max(a.GetPosition(), b.GetPosition())}
	if out.RecordId == "" {
		out.RecordId = b.GetRecordId()
	}
	if out.RecordType == "" {
		out.RecordType = b.GetRecordType()
	}
	af, bf := a.GetFields(), b.GetFields()
	for len(af) > 0 || len(bf) > 0 {
		switch {
		case len(bf) == 0 || (len(af) > 0 && af[0].GetField() < bf[0].GetField()):
			out.Fields = append(out.Fields, proto.Clone(af[0]).(*v1.FieldState))
			af = af[1:]
		case len(af) == 0 || bf[0].GetField() < af[0].GetField():
			out.Fields = append(out.Fields, proto.Clone(bf[0]).(*v1.FieldState))
			bf = bf[1:]
		default:
			out.Fields = append(out.Fields, mergeField(af[0], bf[0]))
			af, bf = af[1:], bf[1:]
		}
	}
	switch {
	case a.GetPosition() > b.GetPosition():
		out.Conflicts = cloneConflicts(a.GetConflicts())
	case b.GetPosition() > a.GetPosition():
		out.Conflicts = cloneConflicts(b.GetConflicts())
	default:
		out.Conflicts = cloneConflicts(a.GetConflicts())
		for _, c := range b.GetConflicts() {
			if !slices.ContainsFunc(out.Conflicts, func(o *v1.Conflict) bool { return o.GetId() == c.GetId() }) {
				out.Conflicts = append(out.Conflicts, proto.Clone(c).(*v1.Conflict))
			}
		}
		slices.SortFunc(out.Conflicts, func(x, y *v1.Conflict) int { return cmp.Compare(x.GetId(), y.GetId()) })
	}
	return out
}

func cloneConflicts(cs []*v1.Conflict) []*v1.Conflict {
	out := make([]*v1.Conflict, 0, len(cs))
	for _, c := range cs {
		out = append(out, proto.Clone(c).(*v1.Conflict))
	}
	return out
}

func mergeField(a, b *v1.FieldState) *v1.FieldState {
	as, bs := a.GetValue().GetSetState(), b.GetValue().GetSetState()
	if as != nil && bs != nil {
		out := &v1.FieldState{Field: a.GetField(), Value: &v1.Value{Kind: &v1.Value_SetState{SetState: mergeSets(as, bs)}}}
		if higher(a, b) {
			out.Stamp, out.Author = a.GetStamp(), a.GetAuthor()
		} else {
			out.Stamp, out.Author = b.GetStamp(), b.GetAuthor()
		}
		return proto.Clone(out).(*v1.FieldState)
	}
	if higher(a, b) {
		return proto.Clone(a).(*v1.FieldState)
	}
	return proto.Clone(b).(*v1.FieldState)
}

// higher reports whether a's value beats b's: the higher stamp, and for equal
// stamps (which only corrupt input produces) the larger encoding, so the
// choice is still deterministic.
func higher(a, b *v1.FieldState) bool {
	if c := CompareStamps(a.GetStamp(), b.GetStamp()); c != 0 {
		return c > 0
	}
	opts := proto.MarshalOptions{Deterministic: true}
	ab, _ := opts.Marshal(a)
	bb, _ := opts.Marshal(b)
	return bytes.Compare(ab, bb) >= 0
}

func mergeSets(a, b *v1.SetState) *v1.SetState {
	out := &v1.SetState{}
	ae, be := a.GetElements(), b.GetElements()
	for len(ae) > 0 || len(be) > 0 {
		var x, y *v1.SetElement
		switch {
		case len(be) == 0 || (len(ae) > 0 && ae[0].GetElement() < be[0].GetElement()):
			x, ae = ae[0], ae[1:]
		case len(ae) == 0 || be[0].GetElement() < ae[0].GetElement():
			y, be = be[0], be[1:]
		default:
			x, y = ae[0], be[0]
			ae, be = ae[1:], be[1:]
		}
		el := &v1.SetElement{Element: x.GetElement()}
		if x == nil {
			el.Element = y.GetElement()
		}
		for _, s := range x.GetRemoved() {
			el.Removed = insertStamp(el.Removed, s)
		}
		for _, s := range y.GetRemoved() {
			el.Removed = insertStamp(el.Removed, s)
		}
		for _, s := range append(slices.Clone(x.GetAdds()), y.GetAdds()...) {
			if !containsStamp(el.Removed, s) {
				el.Adds = insertStamp(el.Adds, s)
			}
		}
		if len(el.Adds) > 0 || len(el.Removed) > 0 {
			out.Elements = append(out.Elements, el)
		}
	}
	return out
}
