// Package peer generates the peers' contact workload, byte for byte as
// ../shared/reference/bench-workload.md gives it: the records Automerge
// (Go and JS) and PouchDB were measured on, so that a benchmark of ours on
// the same records can be set beside theirs figure for figure. It owns the
// generator (mulberry32, its uuids, the draw order, the 64 words, the
// records' JSON form) and the mapping of a record onto our contact record
// (contact.go). It holds no real personal data.
package peer

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// DefaultSeed is the seed the peers' figures were measured with.
const DefaultSeed = 42

// Clients and Workers are how many client and worker ids a workload draws.
const (
	Clients = 200
	Workers = 20
)

// NotesBytes is the length of every record's notes.
const NotesBytes = 300

// Categories are the workload's contact categories, in draw order.
var Categories = []string{"housing", "employment", "family", "finance", "treatment_attendance"}

// Outcomes are the workload's short outcomes, in draw order.
var Outcomes = []string{"resolved", "referred", "pending", "no_show", "follow_up_scheduled", "declined", "in_progress", "escalated"}

// Words are the 64 words the notes are drawn from, in order.
var Words = strings.Fields(`client attended meeting discussed housing application rent arrears landlord contacted
employment referral interview scheduled benefits claim submitted family support plan reviewed children school
attendance improved finance budget debt advice provided treatment session missed rescheduled caseworker visited
home safety concerns none noted next steps agreed with they will call back within two weeks documents outstanding
progress review letter phone update court hearing shelter transport voucher`)

// epoch is the earliest occurred_at; yearSeconds the span drawn from.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const yearSeconds = 31536000

// Rand is mulberry32, the workload's only source of randomness.
type Rand struct{ s uint32 }

// NewRand returns mulberry32 seeded with seed.
func NewRand(seed uint32) *Rand { return &Rand{s: seed} }

// Next returns the next value (all uint32 arithmetic, as in the reference).
func (r *Rand) Next() uint32 {
	r.s += 0x6D2B79F5
	t := r.s
	t = (t ^ t>>15) * (t | 1)
	t ^= t + (t^t>>7)*(t|61)
	return t ^ t>>14
}

// UUID returns a version-4 uuid from four draws.
func (r *Rand) UUID() string {
	a, b, c, d := r.Next(), r.Next(), r.Next(), r.Next()
	b = b&0xffff0fff | 0x00004000
	c = c&0x3fffffff | 0x80000000
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%04x%08x", a, b>>16, b&0xffff, c>>16, c&0xffff, d)
}

// Record is one contact of the workload. Its JSON form (encoding/json,
// fields in this order) is the peers' NDJSON line.
type Record struct {
	ID         string `json:"id"`
	ClientID   string `json:"client_id"`
	WorkerID   string `json:"worker_id"`
	Category   string `json:"category"`
	OccurredAt string `json:"occurred_at"`
	Outcome    string `json:"outcome"`
	Notes      string `json:"notes"`
	FollowUp   bool   `json:"follow_up"`

	// Client and Worker index Generator.Clients and Generator.Workers.
	Client, Worker int       `json:"-"`
	at             time.Time // OccurredAt
}

// Generator draws a workload's records one at a time, so a million need
// not be held at once.
type Generator struct {
	r                *Rand
	Clients, Workers []string
}

// New draws the client and worker ids of the workload of seed.
func New(seed uint32) *Generator {
	g := &Generator{r: NewRand(seed)}
	for range Clients {
		g.Clients = append(g.Clients, g.r.UUID())
	}
	for range Workers {
		g.Workers = append(g.Workers, g.r.UUID())
	}
	return g
}

// Next draws the next record.
func (g *Generator) Next() Record {
	r := g.r
	rec := Record{ID: r.UUID()}
	rec.Client = int(r.Next() % Clients)
	rec.Worker = int(r.Next() % Workers)
	rec.ClientID, rec.WorkerID = g.Clients[rec.Client], g.Workers[rec.Worker]
	rec.Category = Categories[r.Next()%uint32(len(Categories))]
	rec.at = epoch.Add(time.Duration(r.Next()%yearSeconds) * time.Second)
	rec.OccurredAt = rec.at.Format(time.RFC3339)
	rec.Outcome = Outcomes[r.Next()%uint32(len(Outcomes))]
	var notes strings.Builder
	for notes.Len() < NotesBytes {
		if notes.Len() > 0 {
			notes.WriteByte(' ')
		}
		notes.WriteString(Words[r.Next()%uint32(len(Words))])
	}
	rec.Notes = notes.String()[:NotesBytes]
	rec.FollowUp = r.Next()&1 == 1
	return rec
}

// WriteNDJSON writes the first n records of the workload of seed, one JSON
// object a line, and returns the bytes of the records' JSON objects, not
// counting the n newlines: that is the figure bench-workload.md gives
// (5,590,516 bytes for N=10,000), and what was written is that plus n.
func WriteNDJSON(w io.Writer, n int, seed uint32) (int64, error) {
	cw := &countingWriter{w: w}
	enc := json.NewEncoder(cw) // Encode ends each object with "\n"
	enc.SetEscapeHTML(false)
	g := New(seed)
	for range n {
		if err := enc.Encode(g.Next()); err != nil {
			return cw.n, err
		}
	}
	return cw.n - int64(n), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
