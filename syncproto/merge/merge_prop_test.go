package merge

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// Property tests for the merge rules. Changes are generated the way devices
// make them: every change has its own stamp (no two share time and replica),
// a set remove only observes additions with lower stamps (a device can only
// have seen an addition made before its own clock reading), and an author
// whose device is the stamp's replica.

const (
	testRecordID   = "0190c6a0-7d1e-7000-8000-00000000c11e"
	testRecordType = "client"
	flagsField     = "risk_flags"
	// baseMillis is 2025-01-01T00:00:00Z.
	baseMillis = int64(1_735_689_600_000)
)

var (
	testReplicas     = []string{"dev-a", "dev-b", "dev-c"}
	testUsers        = []string{"user-ana", "user-ben"}
	plainFields      = []string{"given_name", "notes", "status"}
	flagElements     = []string{"housing", "overdose", "self_harm"}
	tombstoneReasons = []string{"duplicate", "entered_in_error"}
	testNow          = time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC)
)

// Value constructors.

func stringValue(s string) *v1.Value {
	return &v1.Value{Kind: &v1.Value_StringValue{StringValue: s}}
}

func setAddValue(el string) *v1.Value {
	return &v1.Value{Kind: &v1.Value_SetAdd{SetAdd: &v1.SetAdd{Element: el}}}
}

func setRemoveValue(el string, observed ...*v1.Stamp) *v1.Value {
	return &v1.Value{Kind: &v1.Value_SetRemove{SetRemove: &v1.SetRemove{Element: el, Observed: observed}}}
}

func tombstoneValue(reason string) *v1.Value {
	return &v1.Value{Kind: &v1.Value_Tombstone{Tombstone: &v1.Tombstone{Reason: reason}}}
}

func newChange(field string, v *v1.Value, stamp, base *v1.Stamp) *v1.Change {
	return &v1.Change{RecordId: testRecordID, RecordType: testRecordType, ClientId: testRecordID, Field: field, Value: v, Stamp: stamp, Base: base}
}

// edit is a change together with the author the server attributes it to.
type edit struct {
	ch     *v1.Change
	author *v1.Author
}

func (e edit) String() string {
	base := "nil"
	if e.ch.GetBase() != nil {
		base = stampString(e.ch.GetBase())
	}
	return fmt.Sprintf("{%s %s = %s base %s by %s}", stampString(e.ch.GetStamp()), e.ch.GetField(),
		prototext.MarshalOptions{}.Format(e.ch.GetValue()), base, e.author.GetUserId())
}

func stampString(s *v1.Stamp) string {
	return fmt.Sprintf("%d.%d@%s", hlc.WallMillis(s.GetTime())-baseMillis, s.GetTime()&(1<<hlc.CounterBits-1), s.GetReplica())
}

// stampKey is a comparable stamp, for drawing distinct stamps.
type stampKey struct {
	ms      int64
	counter uint16
	replica string
}

func (k stampKey) stamp() *v1.Stamp {
	return &v1.Stamp{Time: hlc.Pack(baseMillis+k.ms, k.counter), Replica: k.replica}
}

func compareKeys(a, b stampKey) int {
	return hlc.Compare(hlc.Pack(a.ms, a.counter), a.replica, hlc.Pack(b.ms, b.counter), b.replica)
}

// stampKeyGen draws from a small space (9 ms x 3 counters x 3 replicas) so
// that equal times on different replicas, and so replica tie-breaks, are
// common.
var stampKeyGen = rapid.Custom(func(t *rapid.T) stampKey {
	return stampKey{
		ms:      rapid.Int64Range(0, 8).Draw(t, "ms"),
		counter: rapid.Uint16Range(0, 2).Draw(t, "counter"),
		replica: rapid.SampledFrom(testReplicas).Draw(t, "replica"),
	}
})

// drawKeys draws n distinct stamps, sorted ascending.
func drawKeys(t *rapid.T, minN, maxN int, label string) []stampKey {
	keys := rapid.SliceOfNDistinct(stampKeyGen, minN, maxN, rapid.ID[stampKey]).Draw(t, label)
	slices.SortFunc(keys, compareKeys)
	return keys
}

type editKind int

const (
	kindPlain editKind = 1 << iota
	kindTombstone
	kindSetAdd
	kindSetRemove

	kindAll = kindPlain | kindTombstone | kindSetAdd | kindSetRemove
)

// drawEdits draws between minN and maxN changes with distinct stamps, of the
// given kinds. Ordinary values are unique ("notes#3"), so a visible value
// names the change that wrote it. Bases of ordinary fields are nil or the
// stamp of an earlier change of the same field; removes observe a random
// subset (biased towards all) of the earlier additions of their element.
func drawEdits(t *rapid.T, minN, maxN int, kinds editKind) []edit {
	// Set operations are drawn twice as often as the others: set states
	// have the most ways to go wrong.
	var allowed []editKind
	for k := kindPlain; k <= kindSetRemove; k <<= 1 {
		if kinds&k != 0 {
			allowed = append(allowed, k)
			if k == kindSetAdd || k == kindSetRemove {
				allowed = append(allowed, k)
			}
		}
	}
	keys := drawKeys(t, minN, maxN, "stamps")
	written := map[string][]*v1.Stamp{}
	adds := map[string][]*v1.Stamp{}
	edits := make([]edit, 0, len(keys))
	for i, k := range keys {
		st := k.stamp()
		var ch *v1.Change
		switch rapid.SampledFrom(allowed).Draw(t, "kind") {
		case kindPlain:
			f := rapid.SampledFrom(plainFields).Draw(t, "field")
			ch = newChange(f, stringValue(fmt.Sprintf("%s#%d", f, i)), st, drawBase(t, written[f]))
		case kindTombstone:
			reason := rapid.SampledFrom(tombstoneReasons).Draw(t, "reason")
			ch = newChange(DeletedField, tombstoneValue(fmt.Sprintf("%s#%d", reason, i)), st, drawBase(t, written[DeletedField]))
		case kindSetAdd:
			el := rapid.SampledFrom(flagElements).Draw(t, "element")
			ch = newChange(flagsField, setAddValue(el), st, nil)
			adds[el] = append(adds[el], st)
		case kindSetRemove:
			el := rapid.SampledFrom(flagElements).Draw(t, "element")
			var observed []*v1.Stamp
			for _, a := range adds[el] {
				// A device has usually seen an addition made before it.
				if rapid.IntRange(0, 3).Draw(t, "observed") > 0 {
					observed = append(observed, proto.Clone(a).(*v1.Stamp))
				}
			}
			ch = newChange(flagsField, setRemoveValue(el, observed...), st, nil)
		}
		ch.DeviceSeq = uint64(i + 1)
		written[ch.Field] = append(written[ch.Field], st)
		author := &v1.Author{UserId: rapid.SampledFrom(testUsers).Draw(t, "user"), DeviceId: k.replica}
		edits = append(edits, edit{ch: ch, author: author})
	}
	return edits
}

func drawBase(t *rapid.T, earlier []*v1.Stamp) *v1.Stamp {
	i := rapid.IntRange(-1, len(earlier)-1).Draw(t, "base")
	if i < 0 {
		return nil
	}
	return proto.Clone(earlier[i]).(*v1.Stamp)
}

// drawDelivery draws a delivery order of n changes: every change at least
// once, some re-delivered, all shuffled.
func drawDelivery(t *rapid.T, n int, label string) []int {
	if n == 0 {
		return nil
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	extra := rapid.SliceOfN(rapid.IntRange(0, n-1), 0, n).Draw(t, label+" re-deliveries")
	return rapid.Permutation(append(order, extra...)).Draw(t, label)
}

// drawSubsequence draws a random selection of changes, possibly with
// duplicates, in random order.
func drawSubsequence(t *rapid.T, n int, label string) []int {
	if n == 0 {
		return nil
	}
	return rapid.SliceOfN(rapid.IntRange(0, n-1), 0, 2*n).Draw(t, label)
}

// applyEdit applies e to r; a raised conflict takes the next id from ids.
func applyEdit(r *v1.RecordState, e edit, ids *uint64) Outcome {
	out := Apply(r, e.ch, e.author, *ids+1, testNow)
	if out.Conflict != nil {
		*ids++
	}
	return out
}

// replay applies the edits in the given order to a new record.
func replay(edits []edit, order []int, ids *uint64) *v1.RecordState {
	r := NewRecord(testRecordID, testRecordType)
	for _, i := range order {
		applyEdit(r, edits[i], ids)
	}
	return r
}

// singleton is the state holding just one change.
func singleton(e edit) *v1.RecordState {
	r := NewRecord(testRecordID, testRecordType)
	Apply(r, e.ch, e.author, 0, testNow)
	return r
}

// drawStates draws n states of one record built from edits the way replicas
// and the server build them: a shared history, then on each its own further
// deliveries (any order, duplicates) and a log position. Conflict ids come
// from one counter, as the server's are unique within a bucket.
func drawStates(t *rapid.T, edits []edit, n int) []*v1.RecordState {
	var ids uint64
	shared := replay(edits, drawSubsequence(t, len(edits), "shared history"), &ids)
	states := make([]*v1.RecordState, 0, n)
	for i := range n {
		s := proto.Clone(shared).(*v1.RecordState)
		for _, j := range drawSubsequence(t, len(edits), fmt.Sprintf("state %d", i)) {
			applyEdit(s, edits[j], &ids)
		}
		s.Position = rapid.Uint64Range(0, 2).Draw(t, "position")
		states = append(states, s)
	}
	return states
}

// fieldsOf is the part of a state that must converge: the conflict list is
// left out because conflicts are server-side annotations, computed once per
// change by the server (which applies each change exactly once) and taken
// by devices as they come; a replica that applies changes in another order
// legitimately sees other concurrency and so records other conflicts.
func fieldsOf(r *v1.RecordState) *v1.RecordState {
	return &v1.RecordState{RecordId: r.GetRecordId(), RecordType: r.GetRecordType(), Fields: r.GetFields()}
}

// visibleOf is fieldsOf without the stamp and author of set fields, that
// is, the values a user sees plus the stamps and authors of ordinary fields.
func visibleOf(r *v1.RecordState) *v1.RecordState {
	out := fieldsOf(proto.Clone(r).(*v1.RecordState))
	for _, f := range out.Fields {
		if f.GetValue().GetSetState() != nil {
			f.Stamp, f.Author = nil, nil
		}
	}
	return out
}

type fataler interface {
	Fatalf(format string, args ...any)
}

func requireEqual(t fataler, gotName string, got proto.Message, wantName string, want proto.Message) {
	if !proto.Equal(got, want) {
		t.Fatalf("%s != %s\n%s:\n%s\n%s:\n%s", gotName, wantName, gotName, format(got), wantName, format(want))
	}
}

func format(m proto.Message) string {
	return prototext.MarshalOptions{Multiline: true, Indent: "  "}.Format(m)
}

// requireCanonical checks the canonical form Merge promises: fields sorted
// by name, set elements sorted, stamp lists sorted without duplicates, and
// no stamp both added and removed.
func requireCanonical(t fataler, r *v1.RecordState) {
	for i := 1; i < len(r.GetFields()); i++ {
		if r.Fields[i-1].GetField() >= r.Fields[i].GetField() {
			t.Fatalf("fields not strictly sorted: %q before %q", r.Fields[i-1].GetField(), r.Fields[i].GetField())
		}
	}
	for _, f := range r.GetFields() {
		if f.GetStamp() == nil {
			t.Fatalf("field %q has no stamp in an expanded state", f.GetField())
		}
		els := f.GetValue().GetSetState().GetElements()
		for i, e := range els {
			if i > 0 && els[i-1].GetElement() >= e.GetElement() {
				t.Fatalf("field %q: elements not strictly sorted: %q before %q", f.GetField(), els[i-1].GetElement(), e.GetElement())
			}
			for _, list := range [][]*v1.Stamp{e.GetAdds(), e.GetRemoved()} {
				for j := 1; j < len(list); j++ {
					if CompareStamps(list[j-1], list[j]) >= 0 {
						t.Fatalf("field %q element %q: stamps not strictly sorted: %v", f.GetField(), e.GetElement(), list)
					}
				}
			}
			for _, a := range e.GetAdds() {
				if containsStamp(e.GetRemoved(), a) {
					t.Fatalf("field %q element %q: stamp %s both added and removed", f.GetField(), e.GetElement(), stampString(a))
				}
			}
		}
	}
}

// Property 1.
func TestMergeIsCommutative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		edits := drawEdits(t, 1, 12, kindAll)
		s := drawStates(t, edits, 2)
		a, b := s[0], s[1]
		aBefore, bBefore := proto.Clone(a), proto.Clone(b)
		ab := Merge(a, b)
		ba := Merge(b, a)
		requireEqual(t, "a after Merge", a, "a before", aBefore)
		requireEqual(t, "b after Merge", b, "b before", bBefore)
		requireCanonical(t, ab)
		requireEqual(t, "Merge(a, b)", ab, "Merge(b, a)", ba)
		// The result shares nothing with the inputs: compacting it (which
		// works in place) leaves them alone.
		Compact(Merge(a, b))
		requireEqual(t, "a after Compact(Merge(a, b))", a, "a before", aBefore)
		requireEqual(t, "b after Compact(Merge(a, b))", b, "b before", bBefore)
	})
}

// Property 2.
func TestMergeIsAssociative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		edits := drawEdits(t, 1, 12, kindAll)
		s := drawStates(t, edits, 3)
		a, b, c := s[0], s[1], s[2]
		left := Merge(Merge(a, b), c)
		right := Merge(a, Merge(b, c))
		requireCanonical(t, left)
		requireEqual(t, "Merge(Merge(a, b), c)", left, "Merge(a, Merge(b, c))", right)
	})
}

// Property 3, plus absorption: merging a state into a join of it changes
// nothing.
func TestMergeIsIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		edits := drawEdits(t, 1, 12, kindAll)
		s := drawStates(t, edits, 2)
		a, b := s[0], s[1]
		requireEqual(t, "Merge(a, a)", Merge(a, a), "a", a)
		requireEqual(t, "Merge(a, clone(a))", Merge(a, proto.Clone(a).(*v1.RecordState)), "a", a)
		ab := Merge(a, b)
		requireEqual(t, "Merge(Merge(a, b), a)", Merge(ab, a), "Merge(a, b)", ab)
		requireEqual(t, "Merge(b, Merge(a, b))", Merge(b, ab), "Merge(a, b)", ab)
	})
}

// Property 4. Replicas that are delivered the same changes in different
// orders, with duplicates and re-deliveries, hold the same fields, and those
// are the fields of the join of the singleton states.
//
// The Conflicts list is ignored here: conflicts are server-side annotations
// computed once per change against whatever was current when the server
// applied it, so they depend on delivery order by design (see fieldsOf).
func TestApplyConverges(t *testing.T) {
	checkConvergence(t, fieldsOf)
}

// The same as TestApplyConverges, comparing only what users see: values,
// and stamps and authors of ordinary fields. It narrows a failure of
// TestApplyConverges down to the stamp and author of set fields.
func TestApplyConvergesOnVisibleValues(t *testing.T) {
	checkConvergence(t, visibleOf)
}

func checkConvergence(t *testing.T, view func(*v1.RecordState) *v1.RecordState) {
	rapid.Check(t, func(t *rapid.T) {
		// Half the cases hold set operations only, where concurrent
		// operations on one element, and so order effects, are most common.
		kinds := kindAll
		if rapid.Bool().Draw(t, "set operations only") {
			kinds = kindSetAdd | kindSetRemove
		}
		edits := drawEdits(t, 1, 16, kinds)
		t.Logf("changes: %v", edits)
		var ids uint64
		var first *v1.RecordState
		for rep := range 5 {
			order := drawDelivery(t, len(edits), fmt.Sprintf("replica %d delivery", rep))
			r := replay(edits, order, &ids)
			requireCanonical(t, r)
			if first == nil {
				first = r
				continue
			}
			requireEqual(t, fmt.Sprintf("replica %d", rep), view(r), "replica 0", view(first))
		}
		merged := NewRecord(testRecordID, testRecordType)
		idx := make([]int, len(edits))
		for i := range idx {
			idx[i] = i
		}
		for _, i := range rapid.Permutation(idx).Draw(t, "merge order") {
			merged = Merge(merged, singleton(edits[i]))
		}
		requireEqual(t, "Apply one by one (replica 0)", view(first), "Merge of singletons", view(merged))
	})
}

// Property 5: the set is add-wins. An element is in the set exactly when
// some addition of it was observed by no remove, whatever the delivery order
// and duplicates; and re-delivering additions never brings back a removed
// element.
func TestSetIsAddWins(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		edits := drawEdits(t, 1, 14, kindSetAdd|kindSetRemove)
		t.Logf("changes: %v", edits)
		var ids uint64
		r := replay(edits, drawDelivery(t, len(edits), "delivery"), &ids)
		if len(r.GetConflicts()) > 0 {
			t.Fatalf("set operations raised conflicts: %v", r.GetConflicts())
		}

		observed := map[string][]*v1.Stamp{}
		for _, e := range edits {
			if rm := e.ch.GetValue().GetSetRemove(); rm != nil {
				observed[rm.GetElement()] = append(observed[rm.GetElement()], rm.GetObserved()...)
			}
		}
		observedBy := func(el string, s *v1.Stamp) bool {
			return slices.ContainsFunc(observed[el], func(o *v1.Stamp) bool { return SameStamp(o, s) })
		}
		var want []string
		for _, e := range edits {
			add := e.ch.GetValue().GetSetAdd()
			if add == nil {
				continue
			}
			el := add.GetElement()
			st := findElement(r, el)
			if observedBy(el, e.ch.GetStamp()) {
				if containsStamp(st.GetAdds(), e.ch.GetStamp()) {
					t.Fatalf("addition %v of %q was observed by a remove but survives", e, el)
				}
			} else {
				if !containsStamp(st.GetAdds(), e.ch.GetStamp()) {
					t.Fatalf("addition %v of %q was observed by no remove but was removed", e, el)
				}
				if !slices.Contains(want, el) {
					want = append(want, el)
				}
			}
		}
		slices.Sort(want)
		got := SetMembers(Field(r, flagsField).GetValue().GetSetState())
		if !slices.Equal(got, want) {
			t.Fatalf("SetMembers = %v, want %v", got, want)
		}

		// The field's stamp and author are those of one of its changes,
		// no older than any addition.
		if f := Field(r, flagsField); f != nil {
			if !slices.ContainsFunc(edits, func(e edit) bool {
				return SameStamp(e.ch.GetStamp(), f.GetStamp()) && proto.Equal(e.author, f.GetAuthor())
			}) {
				t.Fatalf("field stamp %s by %v is no change's", stampString(f.GetStamp()), f.GetAuthor())
			}
			for _, e := range edits {
				if e.ch.GetValue().GetSetAdd() != nil && CompareStamps(e.ch.GetStamp(), f.GetStamp()) > 0 {
					t.Fatalf("field stamp %s is older than addition %v", stampString(f.GetStamp()), e)
				}
			}
		}

		// Re-deliver every addition: all duplicates, nothing changes.
		before := proto.Clone(r)
		for _, e := range edits {
			if e.ch.GetValue().GetSetAdd() == nil {
				continue
			}
			if out := applyEdit(r, e, &ids); !out.Duplicate || out.Won {
				t.Fatalf("re-delivered addition %v: Duplicate %v Won %v, want true false", e, out.Duplicate, out.Won)
			}
		}
		requireEqual(t, "state after re-delivering additions", r, "state before", before)
	})
}

func findElement(r *v1.RecordState, el string) *v1.SetElement {
	for _, e := range Field(r, flagsField).GetValue().GetSetState().GetElements() {
		if e.GetElement() == el {
			return e
		}
	}
	return nil
}

// Property 5, spelled out: additions delivered in any order put the element
// in the set; a remove that observed all of them takes it out; re-delivered
// additions do not bring it back; an addition the remove did not observe
// (a concurrent one) does.
func TestSetRemoveOfAllObservedAdds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		el := rapid.SampledFrom(flagElements).Draw(t, "element")
		keys := drawKeys(t, 2, 6, "stamps")
		// The last stamp is the concurrent addition; the remove comes after
		// every addition the remove's device saw.
		seen, concurrent := keys[:len(keys)-1], keys[len(keys)-1]
		var adds []edit
		var stamps []*v1.Stamp
		for _, k := range seen {
			adds = append(adds, edit{newChange(flagsField, setAddValue(el), k.stamp(), nil), &v1.Author{UserId: "user-ana", DeviceId: k.replica}})
			stamps = append(stamps, k.stamp())
		}
		var ids uint64
		r := NewRecord(testRecordID, testRecordType)
		for _, i := range drawDelivery(t, len(adds), "add delivery") {
			applyEdit(r, adds[i], &ids)
		}
		if got := SetMembers(Field(r, flagsField).GetValue().GetSetState()); !slices.Equal(got, []string{el}) {
			t.Fatalf("after additions SetMembers = %v, want [%s]", got, el)
		}

		rmStamp := &v1.Stamp{Time: hlc.Pack(baseMillis+100, 0), Replica: rapid.SampledFrom(testReplicas).Draw(t, "remover")}
		rm := edit{newChange(flagsField, setRemoveValue(el, rapid.Permutation(stamps).Draw(t, "observed order")...), rmStamp, nil), &v1.Author{UserId: "user-ben", DeviceId: rmStamp.Replica}}
		if out := applyEdit(r, rm, &ids); !out.Won || out.Conflict != nil {
			t.Fatalf("remove: Won %v Conflict %v, want true nil", out.Won, out.Conflict)
		}
		if got := SetMembers(Field(r, flagsField).GetValue().GetSetState()); len(got) != 0 {
			t.Fatalf("after a remove observing every addition SetMembers = %v, want []", got)
		}

		for _, i := range rapid.SliceOfN(rapid.IntRange(0, len(adds)-1), 1, 2*len(adds)).Draw(t, "re-deliveries") {
			if out := applyEdit(r, adds[i], &ids); !out.Duplicate {
				t.Fatalf("re-delivered addition %v not reported as duplicate", adds[i])
			}
			if got := SetMembers(Field(r, flagsField).GetValue().GetSetState()); len(got) != 0 {
				t.Fatalf("re-delivered addition %v resurrected the element: SetMembers = %v", adds[i], got)
			}
		}

		add := edit{newChange(flagsField, setAddValue(el), concurrent.stamp(), nil), &v1.Author{UserId: "user-ana", DeviceId: concurrent.replica}}
		applyEdit(r, add, &ids)
		if got := SetMembers(Field(r, flagsField).GetValue().GetSetState()); !slices.Equal(got, []string{el}) {
			t.Fatalf("after an addition the remove did not observe SetMembers = %v, want [%s]", got, el)
		}
	})
}

// Property 6: two concurrent edits of one ordinary field (same base: the
// field's stamp, or nil although the field has a value) raise a conflict
// holding both values, in either delivery order; an edit based on the
// winner resolves every open conflict of that field, and only of that field.
func TestConcurrentEditsConflictAndResolve(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		field := rapid.SampledFrom(plainFields).Draw(t, "field")
		other := rapid.SampledFrom(plainFields).Filter(func(f string) bool { return f != field }).Draw(t, "other field")
		keys := drawKeys(t, 3, 3, "stamps") // existing < e1 < e2
		author := func(k stampKey) *v1.Author { return &v1.Author{UserId: "user-" + k.replica, DeviceId: k.replica} }

		var ids uint64
		r := NewRecord(testRecordID, testRecordType)
		existing := edit{newChange(field, stringValue("existing"), keys[0].stamp(), nil), author(keys[0])}
		applyEdit(r, existing, &ids)

		// Optionally an open conflict on another field, which must survive.
		otherConflict := rapid.Bool().Draw(t, "other field conflict")
		if otherConflict {
			applyEdit(r, edit{newChange(other, stringValue("other-1"), &v1.Stamp{Time: hlc.Pack(baseMillis-10, 0), Replica: "dev-a"}, nil), author(keys[0])}, &ids)
			if out := applyEdit(r, edit{newChange(other, stringValue("other-2"), &v1.Stamp{Time: hlc.Pack(baseMillis-5, 0), Replica: "dev-b"}, nil), author(keys[0])}, &ids); out.Conflict == nil {
				t.Fatalf("setup: no conflict on %q", other)
			}
		}

		var base *v1.Stamp
		withBase := rapid.Bool().Draw(t, "base is the existing stamp")
		if withBase {
			base = proto.Clone(keys[0].stamp()).(*v1.Stamp)
		}
		e1 := edit{newChange(field, stringValue("edit-1"), keys[1].stamp(), base), author(keys[1])}
		e2 := edit{newChange(field, stringValue("edit-2"), keys[2].stamp(), base), author(keys[2])}
		first, second := e1, e2
		if rapid.Bool().Draw(t, "e2 first") {
			first, second = e2, e1
		}
		o1 := applyEdit(r, first, &ids)
		o2 := applyEdit(r, second, &ids)
		if withBase && o1.Conflict != nil {
			t.Fatalf("first edit with the current base raised a conflict: %v", o1.Conflict)
		}
		if !withBase && o1.Conflict == nil {
			t.Fatalf("first edit with nil base on an existing value raised no conflict")
		}
		if o2.Conflict == nil {
			t.Fatalf("second concurrent edit raised no conflict")
		}
		if !slices.ContainsFunc(r.GetConflicts(), func(c *v1.Conflict) bool {
			return c.GetField() == field && holdsBoth(c, e1, e2)
		}) {
			t.Fatalf("no conflict holds both edits %v and %v; conflicts:\n%s", e1, e2, format(r))
		}
		if got := Field(r, field); !proto.Equal(got.GetValue(), e2.ch.GetValue()) {
			t.Fatalf("visible value %v, want the higher-stamped edit %v", got.GetValue(), e2)
		}

		var open, openOther []uint64
		for _, c := range r.GetConflicts() {
			if c.GetField() == field {
				open = append(open, c.GetId())
			} else {
				openOther = append(openOther, c.GetId())
			}
		}
		resolveStamp := &v1.Stamp{Time: hlc.Pack(baseMillis+100, 0), Replica: rapid.SampledFrom(testReplicas).Draw(t, "resolver")}
		resolve := edit{newChange(field, stringValue("resolved"), resolveStamp, proto.Clone(Field(r, field).GetStamp()).(*v1.Stamp)), author(keys[0])}
		o3 := applyEdit(r, resolve, &ids)
		if o3.Conflict != nil || !o3.Won {
			t.Fatalf("resolving edit: Conflict %v Won %v, want nil true", o3.Conflict, o3.Won)
		}
		got := slices.Sorted(slices.Values(o3.Resolved))
		if !slices.Equal(got, open) {
			t.Fatalf("Resolved = %v, want the open conflicts of %q %v", got, field, open)
		}
		var left []uint64
		for _, c := range r.GetConflicts() {
			if c.GetField() == field {
				t.Fatalf("conflict %d on %q still open after resolution", c.GetId(), field)
			}
			left = append(left, c.GetId())
		}
		if !slices.Equal(left, openOther) {
			t.Fatalf("conflicts on other fields after resolution = %v, want %v", left, openOther)
		}
		if otherConflict && len(left) == 0 {
			t.Fatalf("the conflict on %q was resolved by an edit of %q", other, field)
		}
	})
}

// holdsBoth reports whether c has one of the two edits on each side.
func holdsBoth(c *v1.Conflict, a, b edit) bool {
	side := func(s *v1.ConflictSide, e edit) bool {
		return proto.Equal(s.GetValue(), e.ch.GetValue()) && SameStamp(s.GetStamp(), e.ch.GetStamp()) && proto.Equal(s.GetAuthor(), e.author)
	}
	return (side(c.GetCurrent(), a) && side(c.GetIncoming(), b)) || (side(c.GetCurrent(), b) && side(c.GetIncoming(), a))
}

// Property 6, the other half: edits whose base is the field's current stamp
// never conflict, applied in sequence or concurrently on different fields.
func TestEditsWithCorrectBasesNeverConflict(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		edits := drawEdits(t, 0, 10, kindAll)
		var ids uint64
		r := NewRecord(testRecordID, testRecordType)
		check := func(what string, e edit, out Outcome) {
			if out.Conflict != nil || len(r.GetConflicts()) > 0 {
				t.Fatalf("%s %v raised a conflict:\n%s", what, e, format(r))
			}
		}
		// Sequential history: each edit saw the current value.
		for _, e := range edits {
			ch := proto.Clone(e.ch).(*v1.Change)
			if ch.GetValue().GetSetAdd() == nil && ch.GetValue().GetSetRemove() == nil {
				ch.Base = nil
				if cur := Field(r, ch.Field); cur != nil {
					ch.Base = proto.Clone(cur.GetStamp()).(*v1.Stamp)
				}
			}
			e := edit{ch, e.author}
			check("sequential edit", e, applyEdit(r, e, &ids))
		}
		// Concurrent edits, one per field, each based on the snapshot.
		fields := rapid.SliceOfNDistinct(rapid.SampledFrom(append(slices.Clone(plainFields), DeletedField)), 1, 4, rapid.ID[string]).Draw(t, "concurrent fields")
		keys := drawKeys(t, len(fields), len(fields), "concurrent stamps")
		var concurrent []edit
		for i, f := range fields {
			v := stringValue(fmt.Sprintf("concurrent-%d", i))
			if f == DeletedField {
				v = tombstoneValue("entered_in_error")
			}
			st := keys[i].stamp()
			st.Time += hlc.Pack(100, 0) // after the whole history
			var base *v1.Stamp
			if cur := Field(r, f); cur != nil {
				base = proto.Clone(cur.GetStamp()).(*v1.Stamp)
			}
			concurrent = append(concurrent, edit{newChange(f, v, st, base), &v1.Author{UserId: "user-ben", DeviceId: keys[i].replica}})
		}
		for _, e := range rapid.Permutation(concurrent).Draw(t, "concurrent order") {
			out := applyEdit(r, e, &ids)
			check("concurrent edit", e, out)
			if !out.Won {
				t.Fatalf("newest edit %v of its field did not win", e)
			}
		}
	})
}

// Property 7: the visible value of an ordinary field (and of "deleted") is
// the value of the change with the highest stamp, at every step, whatever
// the order and duplicates; Won says whether the change became it.
func TestLastWriterWins(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		edits := drawEdits(t, 1, 12, kindPlain|kindTombstone)
		var ids uint64
		r := NewRecord(testRecordID, testRecordType)
		best := map[string]*v1.Change{}
		delivered := map[int]bool{}
		for _, i := range drawDelivery(t, len(edits), "delivery") {
			e := edits[i]
			f := e.ch.GetField()
			prev := best[f]
			newest := prev == nil || hlc.Compare(e.ch.Stamp.Time, e.ch.Stamp.Replica, prev.Stamp.Time, prev.Stamp.Replica) > 0
			out := applyEdit(r, e, &ids)
			if out.Won != newest {
				t.Fatalf("applying %v: Won %v, want %v", e, out.Won, newest)
			}
			// Duplicate means "already the current value": a re-delivered
			// change that lost is not part of the state and simply loses
			// again (the server deduplicates by device sequence before
			// Apply).
			wantDup := delivered[i] && prev == e.ch
			if out.Duplicate != wantDup {
				t.Fatalf("applying %v (delivered before: %v): Duplicate %v, want %v", e, delivered[i], out.Duplicate, wantDup)
			}
			delivered[i] = true
			if newest {
				best[f] = e.ch
			}
			for _, name := range append(slices.Clone(plainFields), DeletedField) {
				got, want := Field(r, name), best[name]
				if want == nil {
					if got != nil {
						t.Fatalf("field %q has value %v but no change wrote it", name, got)
					}
					continue
				}
				if !proto.Equal(got.GetValue(), want.GetValue()) || !SameStamp(got.GetStamp(), want.GetStamp()) {
					t.Fatalf("field %q = %v at %s, want %v at %s", name, got.GetValue(), stampString(got.GetStamp()), want.GetValue(), stampString(want.GetStamp()))
				}
			}
			if IsDeleted(r) != (best[DeletedField] != nil) {
				t.Fatalf("IsDeleted = %v with tombstone %v", IsDeleted(r), best[DeletedField])
			}
		}
	})
}

// Property 8: compacting an expanded state and expanding it again gives the
// state back; Compact takes the stamp most fields share as the record's.
func TestCompactExpandRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var ids uint64
		r := NewRecord(testRecordID, testRecordType)
		// Record creation: several fields written with one stamp and author.
		created := &v1.Stamp{Time: hlc.Pack(baseMillis-1000, 0), Replica: rapid.SampledFrom(testReplicas).Draw(t, "creator")}
		creator := &v1.Author{UserId: rapid.SampledFrom(testUsers).Draw(t, "creator user"), DeviceId: created.Replica}
		for _, f := range plainFields {
			if rapid.Bool().Draw(t, "created "+f) {
				applyEdit(r, edit{newChange(f, stringValue("initial "+f), created, nil), creator}, &ids)
			}
		}
		if rapid.Bool().Draw(t, "created flags") {
			applyEdit(r, edit{newChange(flagsField, setAddValue(rapid.SampledFrom(flagElements).Draw(t, "flag")), created, nil), creator}, &ids)
		}
		edits := drawEdits(t, 0, 12, kindAll)
		for _, i := range drawDelivery(t, len(edits), "delivery") {
			applyEdit(r, edits[i], &ids)
		}
		want := proto.Clone(r).(*v1.RecordState)

		c := Compact(proto.Clone(r).(*v1.RecordState))
		requireEqual(t, "state after Compact(clone)", r, "state before", want)
		if len(c.GetFields()) > 0 {
			if c.GetStamp() == nil {
				t.Fatalf("compacted state with fields has no record stamp:\n%s", format(c))
			}
			type key struct {
				time    uint64
				replica string
			}
			tally := map[key]int{}
			for _, f := range r.GetFields() {
				tally[key{f.GetStamp().GetTime(), f.GetStamp().GetReplica()}]++
			}
			most := slices.Max(slices.Collect(maps.Values(tally)))
			if n := tally[key{c.GetStamp().GetTime(), c.GetStamp().GetReplica()}]; n != most {
				t.Fatalf("record stamp %s is shared by %d fields, but another stamp by %d", stampString(c.GetStamp()), n, most)
			}
			for _, f := range c.GetFields() {
				if f.GetStamp() != nil && SameStamp(f.GetStamp(), c.GetStamp()) {
					t.Fatalf("field %q keeps the record's stamp after Compact", f.GetField())
				}
				if f.GetAuthor() != nil && proto.Equal(f.GetAuthor(), c.GetAuthor()) {
					t.Fatalf("field %q keeps the record's author after Compact", f.GetField())
				}
			}
		}
		got := Expand(c)
		if got.GetStamp() != nil || got.GetAuthor() != nil {
			t.Fatalf("Expand left record defaults: %v %v", got.GetStamp(), got.GetAuthor())
		}
		requireEqual(t, "Expand(Compact(clone(s)))", got, "s", want)
	})
}
