// Package sample makes valid, realistic changes the way a device would: it
// stamps them with a hybrid logical clock, numbers them, and fills records
// with data drawn from the programme's domain (the aftercare domains, the 30
// roll-out areas). Tests, benchmarks and demo tools use it; it holds no
// real personal data.
package sample

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Areas are the 30 first roll-out areas of the Drug Interventions Programme.
var Areas = []string{
	"Avon and Somerset", "Bedfordshire", "Cleveland", "Devon and Cornwall", "Greater Manchester",
	"Humberside", "Lancashire", "Leicestershire", "Merseyside", "Metropolitan Police",
	"Northumbria", "Nottinghamshire", "South Wales", "South Yorkshire", "Thames Valley",
	"West Midlands", "West Yorkshire", "Lambeth", "Southwark", "Hackney",
	"Tower Hamlets", "Islington", "Camden", "Haringey", "Brent",
	"Bristol", "Liverpool", "Manchester", "Birmingham", "Sheffield",
}

var givenNames = []string{"Alex", "Sam", "Jamie", "Chris", "Jo", "Lee", "Kelly", "Danny", "Michelle", "Paul", "Tracey", "Wayne"}
var familyNames = []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker"}
var outcomes = []string{
	"Attended keywork session", "Discussed tenancy arrears", "Completed benefits form", "Agreed treatment plan",
	"Referred to job centre", "Client not at address", "Supported at court", "Met at prison gate on release",
}
var notes = []string{
	"Client engaged well and agreed to attend the next appointment.",
	"Housing officer present; arrears plan agreed for the next eight weeks.",
	"Reported reduced use since starting the script; wants to look at training.",
	"Family contact going well; sees children at weekends.",
	"Missed appointment; followed up by phone and rebooked for Thursday.",
}

// Device makes changes as one device would. It is not safe for concurrent
// use.
type Device struct {
	// ID is the device (replica) id; UserID its user.
	ID, UserID string
	// Seq is the last device sequence number used.
	Seq   uint64
	clock *hlc.Clock
	rng   *rand.Rand
}

// NewDevice returns a device with a fresh id for user, whose clock reads now
// and whose random data comes from seed.
func NewDevice(userID string, now func() time.Time, seed uint64) *Device {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	id, _ := uuid.FromBytes(b[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return &Device{ID: id.String(), UserID: userID, clock: hlc.NewClock(id.String(), now, 0), rng: rng}
}

// NewID returns a fresh UUIDv7 record id.
func (d *Device) NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// Stamp returns the next stamp of the device's clock.
func (d *Device) Stamp() *v1.Stamp {
	s := d.clock.Now()
	return &v1.Stamp{Time: s.Time, Replica: s.Replica}
}

// Observe moves the device's clock past a stamp it has seen (as the SDK
// does with every pulled value), so its next edit orders after it.
func (d *Device) Observe(s *v1.Stamp) {
	_ = d.clock.Observe(s.GetTime()) // the clock has no skew bound
}

// Change returns the next change setting one field, with base as the stamp
// the user saw (nil for none).
func (d *Device) Change(recordType, recordID, clientID, field string, v *v1.Value, base *v1.Stamp) *v1.Change {
	d.Seq++
	return &v1.Change{
		DeviceSeq: d.Seq, RecordId: recordID, RecordType: recordType, ClientId: clientID,
		Field: field, Value: v, Stamp: d.Stamp(), Base: base,
	}
}

// Record returns the changes that create a record with the given fields, in
// the order given. They are one user action (saving a form), so they share
// one stamp: stamps need only be unique per field, and a shared stamp lets
// the record's compacted state carry it once.
func (d *Device) Record(recordType, recordID, clientID string, fields []Field) []*v1.Change {
	stamp := d.Stamp()
	out := make([]*v1.Change, 0, len(fields))
	for _, f := range fields {
		d.Seq++
		out = append(out, &v1.Change{
			DeviceSeq: d.Seq, RecordId: recordID, RecordType: recordType, ClientId: clientID,
			Field: f.Name, Value: f.Value, Stamp: stamp,
		})
	}
	return out
}

// Field is a field name and value.
type Field struct {
	Name  string
	Value *v1.Value
}

// Str builds a string value.
func Str(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_StringValue{StringValue: s}} }

// Int builds an integer value.
func Int(n int64) *v1.Value { return &v1.Value{Kind: &v1.Value_IntegerValue{IntegerValue: n}} }

// Bool builds a bool value.
func Bool(b bool) *v1.Value { return &v1.Value{Kind: &v1.Value_BoolValue{BoolValue: b}} }

// Date builds a date value.
func Date(y, m, d int) *v1.Value {
	return &v1.Value{Kind: &v1.Value_DateValue{DateValue: &v1.Date{Year: int32(y), Month: int32(m), Day: int32(d)}}}
}

// Time builds a timestamp value.
func Time(t time.Time) *v1.Value {
	return &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: timestamppb.New(t)}}
}

// Add builds a set_add value.
func Add(element string) *v1.Value {
	return &v1.Value{Kind: &v1.Value_SetAdd{SetAdd: &v1.SetAdd{Element: element}}}
}

// Remove builds a set_remove value for the observed additions.
func Remove(element string, observed ...*v1.Stamp) *v1.Value {
	return &v1.Value{Kind: &v1.Value_SetRemove{SetRemove: &v1.SetRemove{Element: element, Observed: observed}}}
}

// Tombstone builds a tombstone value.
func Tombstone(reason string) *v1.Value {
	return &v1.Value{Kind: &v1.Value_Tombstone{Tombstone: &v1.Tombstone{Reason: reason}}}
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// NewClient returns a new client id and the changes that create the client
// record with realistic values.
func (d *Device) NewClient(area string) (string, []*v1.Change) {
	id := d.NewID()
	r := d.rng
	return id, d.Record("client", id, id, []Field{
		{"given_name", Str(pick(r, givenNames))},
		{"family_name", Str(pick(r, familyNames))},
		{"date_of_birth", Date(1965+r.IntN(40), 1+r.IntN(12), 1+r.IntN(28))},
		{"area", Str(area)},
		{"pathway", Str(pick(r, schema.Pathways))},
		{"status", Str("active")},
		{"consent_to_share", Bool(r.IntN(10) > 0)},
		{"housing_status", Str(pick(r, schema.HousingStatuses))},
		{"ete_status", Str(pick(r, schema.ETEStatuses))},
		{"risk_flags", Add(pick(r, schema.RiskFlags))},
	})
}

// NewContact returns a new contact id and the changes that log a realistic
// contact with the client, with the fields its category calls for.
func (d *Device) NewContact(clientID string, at time.Time) (string, []*v1.Change) {
	id := d.NewID()
	r := d.rng
	cat := pick(r, schema.ContactCategories)
	fields := []Field{
		{"occurred_at", Time(at)},
		{"category", Str(cat)},
		{"mode", Str(pick(r, schema.ContactModes))},
		{"author", Str(d.UserID)},
		{"outcome", Str(pick(r, outcomes))},
		{"notes", Str(pick(r, notes))},
		{"duration_minutes", Int(int64(10 + 5*r.IntN(12)))},
	}
	switch cat {
	case "treatment_attendance":
		fields = append(fields, Field{"attendance", Str(pick(r, []string{"attended", "attended", "attended", "did_not_attend", "rescheduled"}))},
			Field{"provider", Str(fmt.Sprintf("%s Recovery Service", pick(r, Areas)))})
	case "drug_test":
		fields = append(fields, Field{"test_result", Str(pick(r, []string{"negative", "positive", "refused"}))},
			Field{"substances", Add(pick(r, schema.Substances))})
	case "housing":
		fields = append(fields, Field{"housing_status_after", Str(pick(r, schema.HousingStatuses))})
	case "employment", "education_training":
		fields = append(fields, Field{"ete_status_after", Str(pick(r, schema.ETEStatuses))})
	}
	return id, d.Record("contact", id, clientID, fields)
}
