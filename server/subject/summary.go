package subject

import (
	"fmt"
	"strings"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// summary is summary.md: who the client is, what the archive holds and
// over which dates, for a person to read.
func (h *held) summary(files []file) file {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Subject access export")
	p("")
	p("Everything Throughcare holds about one client, exported on %s by %s (user %s).", stamp(h.at), h.caller.DisplayName, h.caller.ID)
	p("")
	p("## Who")
	p("")
	var rec *v1.RecordState
	if recs := h.records["client"]; len(recs) > 0 {
		rec = recs[0]
	}
	p("- Name: %s %s", text(rec, "given_name"), text(rec, "family_name"))
	p("- Date of birth: %s", text(rec, "date_of_birth"))
	p("- Client id: %s", h.client.ID)
	p("- Area: %s; team: %s", h.area.Name, h.team.Name)
	p("- Case status: %s", text(rec, "status"))
	p("- Registered: %s", stamp(h.client.CreatedAt))
	p("")
	p("## What is held")
	p("")
	counts := []string{}
	for _, f := range files {
		if t, ok := strings.CutPrefix(f.name, "records/"); ok {
			counts = append(counts, fmt.Sprintf("%d %s", f.items, strings.TrimSuffix(t, ".json")))
		}
	}
	if len(counts) == 0 {
		counts = append(counts, "none besides the client record")
	}
	p("- Records: %s.", strings.Join(counts, ", "))
	p("- Changes in the history: %d%s.", len(h.log), h.span())
	p("- Assignment periods: %d; audit entries: %d.", len(h.assignments), len(h.audits))
	p("")
	p("## Files")
	p("")
	p("All times are UTC. The JSON files use the field names of Throughcare's API (throughcare.v1).")
	p("")
	p("| file | what it holds | items |")
	p("| --- | --- | --- |")
	p("| summary.md | this summary | |")
	for _, f := range files {
		p("| %s | %s | %d |", f.name, f.about, f.items)
	}
	return file{name: "summary.md", body: []byte(b.String())}
}

// span is the dates of the first and last change received, if any.
func (h *held) span() string {
	if len(h.log) == 0 {
		return ""
	}
	first, last := h.log[0].GetReceivedAt().AsTime(), h.log[len(h.log)-1].GetReceivedAt().AsTime()
	return fmt.Sprintf(", received from %s to %s", stamp(first), stamp(last))
}

func stamp(t time.Time) string { return t.UTC().Format("2 January 2006 15:04 MST") }

// text is a field of a record as a person reads it ("unknown" if unset).
func text(st *v1.RecordState, field string) string {
	f := merge.Field(st, field)
	switch v := f.GetValue().GetKind().(type) {
	case *v1.Value_StringValue:
		return v.StringValue
	case *v1.Value_DateValue:
		return fmt.Sprintf("%04d-%02d-%02d", v.DateValue.GetYear(), v.DateValue.GetMonth(), v.DateValue.GetDay())
	}
	return "unknown"
}
