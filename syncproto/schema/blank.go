package schema

import (
	"bytes"
	"strings"
	"unicode"
)

// White space, and the rules built on it. The server, the SDK and the
// console (whose static/js/schema.js is generated from this package) all
// decide "blank" and "answered" here.

// IsSpace reports whether r is white space: Unicode's White_Space
// property (U+0009 to U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000 to
// U+200A, U+2028, U+2029, U+202F, U+205F and U+3000), as unicode.IsSpace.
func IsSpace(r rune) bool { return unicode.IsSpace(r) }

func notSpace(r rune) bool { return !IsSpace(r) }

// Blank reports whether s holds nothing but white space (IsSpace). A
// required string field may not be blank.
func Blank(s string) bool { return strings.IndexFunc(s, notSpace) < 0 }

// QueryAnswered reports whether response, a review note's worker_response,
// answers the supervisor's query: it does unless it is blank.
func QueryAnswered(response string) bool { return !Blank(response) }

// QueryAnsweredBytes is QueryAnswered for an encoded value's bytes, read
// without copying them into a string.
func QueryAnsweredBytes(response []byte) bool { return bytes.IndexFunc(response, notSpace) >= 0 }
