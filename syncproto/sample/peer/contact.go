package peer

import (
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// FollowUpAfter is how long after the contact a record with follow_up set
// is followed up, in days.
const FollowUpAfter = 7

// Contact is a workload record as our contact record: the record and the
// mode drawn for it.
type Contact struct {
	Record
	// Mode is one of schema.ContactModes.
	Mode string
}

// NextContact draws the next record and then its mode, the one field our
// contact requires that the workload lacks: schema.ContactModes[next() % 6]
// from the same generator, right after the record's other draws (as
// bench-workload.md says). That extra draw moves every later record along
// the generator's stream: a run of NextContact gives records of the same
// kind and size as the peers' (the same distribution), but from the second
// record on not the very records Next gives; Next alone is the peers'
// workload byte for byte.
func (g *Generator) NextContact() Contact {
	rec := g.Next()
	return Contact{Record: rec, Mode: schema.ContactModes[g.r.Next()%uint32(len(schema.ContactModes))]}
}

// Fields returns the contact's fields in our schema: category, occurred_at,
// outcome (the short outcome) and notes as they are, the mode, author as
// given (the user who stands for the record's worker: the pushing user,
// whom the server requires), and follow_up true as a follow_up_date
// FollowUpAfter days after occurred_at (nothing when false).
func (c Contact) Fields(author string) []sample.Field {
	fields := []sample.Field{
		{Name: "occurred_at", Value: sample.Time(c.at)},
		{Name: "category", Value: sample.Str(c.Category)},
		{Name: "mode", Value: sample.Str(c.Mode)},
		{Name: "author", Value: sample.Str(author)},
		{Name: "outcome", Value: sample.Str(c.Outcome)},
		{Name: "notes", Value: sample.Str(c.Notes)},
	}
	if c.FollowUp {
		d := c.at.AddDate(0, 0, FollowUpAfter)
		fields = append(fields, sample.Field{Name: "follow_up_date", Value: sample.Date(d.Year(), int(d.Month()), d.Day())})
	}
	return fields
}
