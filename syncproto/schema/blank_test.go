package schema

import (
	"slices"
	"testing"
	"unicode"
)

func TestQueryAnswered(t *testing.T) {
	for _, tt := range []struct {
		response string
		want     bool
	}{
		{"", false},
		{" ", false},
		{"   ", false},
		{"\t\n\v\f\r", false},
		{"\u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000", false},
		{"Done", true},
		{"  seen  ", true},
		{"\n.\n", true},
		{"\u200b", true}, // zero width space is not white space
		{"\ufeff", true}, // nor is the byte order mark
		{"\xff", true},   // nor an invalid byte
	} {
		if got := QueryAnswered(tt.response); got != tt.want {
			t.Errorf("QueryAnswered(%q) = %v, want %v", tt.response, got, tt.want)
		}
		if got := QueryAnsweredBytes([]byte(tt.response)); got != tt.want {
			t.Errorf("QueryAnsweredBytes(%q) = %v, want %v", tt.response, got, tt.want)
		}
		if got := Blank(tt.response); got == tt.want {
			t.Errorf("Blank(%q) = %v, want %v", tt.response, got, !tt.want)
		}
	}
}

// TestIsSpaceIsTheDocumentedSet: IsSpace's comment lists its runes, and
// the console's copy of the rule is generated from the same set.
func TestIsSpaceIsTheDocumentedSet(t *testing.T) {
	var got []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if IsSpace(r) {
			got = append(got, r)
		}
	}
	want := []rune{0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680}
	for r := rune(0x2000); r <= 0x200a; r++ {
		want = append(want, r)
	}
	want = append(want, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000)
	if !slices.Equal(got, want) {
		t.Fatalf("IsSpace holds %U, want %U", got, want)
	}
}
