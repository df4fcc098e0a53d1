package main

import (
	"strings"
	"testing"
)

func TestFailureKinds(t *testing.T) {
	kinds := map[string]int{"a": 1, "b": 5, "c": 2, "d": 2, "e": 1, "f": 9, "g": 1}
	got := failureKinds(kinds)
	want := []string{"9× f", "5× b", "2× c", "2× d", "1× a", "and 2 other kinds of failure"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("failureKinds = %q, want %q", got, want)
	}
	if got := failureKinds(nil); len(got) != 0 {
		t.Fatalf("failureKinds(nil) = %q, want nothing", got)
	}
}
