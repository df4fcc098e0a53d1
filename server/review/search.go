package review

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// maxSearch is how much of a search the caseload looks at (runes); the
// rest of a long paste is ignored.
const maxSearch = 100

// search is a parsed caseload search: a date of birth, or words of a
// name, or initials.
type search struct {
	words    []string // folded
	initials string   // folded letters, if the search could be initials
	born     int64    // days since the epoch, or noDay
}

// fold lower-cases s, drops accents and anything that is not a letter or
// a digit (apostrophes and hyphens in names too: "O'Neil" is "oneil"),
// and splits it into words at spaces and punctuation.
func fold(s string) []string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.FieldsFunc(strings.Map(func(r rune) rune {
		switch {
		case r == '\'' || r == '’' || r == '-' || r == '‐':
			return -1 // inside a name
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			return unicode.ToLower(r)
		}
		return ' '
	}, out), func(r rune) bool { return r == ' ' })
}

// parseSearch reads what a supervisor typed or pasted. It never fails:
// invalid UTF-8 and control characters are dropped, and text past
// maxSearch runes is ignored.
func parseSearch(q string) *search {
	q = strings.ToValidUTF8(q, "")
	if r := []rune(q); len(r) > maxSearch {
		q = string(r[:maxSearch])
	}
	q = strings.TrimSpace(q)
	s := &search{born: parseDay(q)}
	if s.born != noDay {
		return s
	}
	s.words = fold(q)
	if len(s.words) == 1 && len(s.words[0]) >= 2 && len(s.words[0]) <= 4 && !strings.ContainsFunc(s.words[0], unicode.IsDigit) {
		s.initials = s.words[0]
	}
	if len(s.words) > 1 && allSingleLetters(s.words) { // "A. S."
		s.initials = strings.Join(s.words, "")
	}
	return s
}

func allSingleLetters(ws []string) bool {
	for _, w := range ws {
		if len([]rune(w)) != 1 {
			return false
		}
	}
	return true
}

// parseDay reads 31/01/1990, 31.1.1990, 31-01-1990 (UK order) or
// 1990-01-31 as days since the epoch; noDay if q is not such a date.
func parseDay(q string) int64 {
	parts := strings.FieldsFunc(q, func(r rune) bool { return r == '/' || r == '.' || r == '-' })
	if len(parts) != 3 || len(q) > 10 {
		return noDay
	}
	n := [3]int{}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return noDay
		}
		n[i] = v
	}
	y, m, d := n[2], n[1], n[0]
	if len(parts[0]) == 4 {
		y, d = n[0], n[2]
	}
	if y < 1000 || m < 1 || m > 12 || d < 1 || d > 31 {
		return noDay
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 31/02
		return noDay
	}
	return t.Unix() / 86400
}

// foldedName is a client's name as the search and the caseload's sort
// compare it, worked out once per summarised bucket.
type foldedName struct {
	words               []string // folded given names, then family names
	initials            string
	lowGiven, lowFamily string // lower-cased, for the sort
}

func foldName(given, family string) *foldedName {
	g, f := fold(given), fold(family)
	return &foldedName{words: append(g, f...), initials: initials(g, f),
		lowGiven: strings.ToLower(given), lowFamily: strings.ToLower(family)}
}

// names returns the client's folded name, working it out if the client
// has none yet.
func (c *client) names() *foldedName {
	if c.folded == nil {
		c.folded = foldName(c.given, c.family)
	}
	return c.folded
}

// matches reports whether a client answers the search: their date of
// birth; every word a prefix of a word of their name (or their whole
// name containing the words run together); or their initials.
func (s *search) matches(c *client) bool {
	if s.born != noDay {
		return c.born == s.born
	}
	if len(s.words) == 0 {
		return true
	}
	n := c.names()
	if s.initials != "" && n.initials == s.initials {
		return true
	}
	for _, w := range s.words {
		found := false
		for _, nw := range n.words {
			if strings.HasPrefix(nw, w) {
				found = true
				break
			}
		}
		if !found {
			return strings.Contains(strings.Join(n.words, ""), strings.Join(s.words, ""))
		}
	}
	return true
}

// initials are the first letters of the given names, then of the family
// names.
func initials(given, family []string) string {
	var b strings.Builder
	for _, w := range append(append([]string{}, given...), family...) {
		r := []rune(w)
		b.WriteRune(r[0])
	}
	return b.String()
}
