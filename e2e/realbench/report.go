package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Figure is one measured figure of the report.
type Figure struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"` // issue 16's target, as text ("—" when it sets none)
}

// Report is a run's figures and the machine they were measured on.
type Report struct {
	Size      int      `json:"size"` // peer-workload contacts seeded
	Cores     int      `json:"cores"`
	GoVersion string   `json:"go_version"`
	At        string   `json:"at"`    // when the run started (UTC)
	Notes     []string `json:"notes"` // about the machine and the run
	Figures   []Figure `json:"figures"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// WriteMarkdown writes the report as a Markdown table, one figure a row.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Real-size benchmark: %s peer-workload contacts\n\n", thousands(r.Size))
	fmt.Fprintf(&b, "%s, %s, %d cores.\n\n", r.At, r.GoVersion, r.Cores)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("| figure | value | unit | target (issue 16) |\n| --- | --- | --- | --- |\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", f.Name, number(f.Value), f.Unit, f.Target)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// number formats v with thousands separators: whole above 100, else with
// up to three significant decimals.
func number(v float64) string {
	if v >= 100 || v <= -100 {
		return thousands(int(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
