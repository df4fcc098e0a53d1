package merge

import (
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Expand gives every field of r its own stamp and author, taking the record's
// defaults where a field carries none, and clears the defaults. It works in
// place and returns r.
func Expand(r *v1.RecordState) *v1.RecordState {
	for _, f := range r.GetFields() {
		if f.Stamp == nil {
			f.Stamp = r.GetStamp()
		}
		if f.Author == nil {
			f.Author = r.GetAuthor()
		}
	}
	r.Stamp, r.Author = nil, nil
	return r
}

// Compact picks the stamp and author shared by most fields as the record's
// defaults and drops them from the fields that share them. Most records are
// written once, so most fields then carry neither. It works in place on an
// expanded state and returns r.
func Compact(r *v1.RecordState) *v1.RecordState {
	if len(r.GetFields()) == 0 {
		return r
	}
	type tally struct {
		stamp *v1.Stamp
		n     int
	}
	var stamps []tally
	for _, f := range r.Fields {
		found := false
		for i := range stamps {
			if SameStamp(stamps[i].stamp, f.GetStamp()) {
				stamps[i].n++
				found = true
				break
			}
		}
		if !found {
			stamps = append(stamps, tally{f.GetStamp(), 1})
		}
	}
	best := stamps[0]
	for _, t := range stamps[1:] {
		if t.n > best.n || (t.n == best.n && CompareStamps(t.stamp, best.stamp) > 0) {
			best = t
		}
	}
	var author *v1.Author
	for _, f := range r.Fields {
		if SameStamp(f.GetStamp(), best.stamp) {
			author = f.GetAuthor()
			break
		}
	}
	r.Stamp, r.Author = best.stamp, author
	for _, f := range r.Fields {
		if SameStamp(f.GetStamp(), best.stamp) {
			f.Stamp = nil
		}
		if proto.Equal(f.GetAuthor(), author) {
			f.Author = nil
		}
	}
	return r
}
