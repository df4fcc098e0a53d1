package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.8123, "0.812"}, {13.46, "13.5"}, {99.4, "99.4"}, {100, "100"},
		{1234.4, "1,234"}, {105000, "105,000"}, {1234567.6, "1,234,568"}, {-2500, "-2,500"},
	}
	for _, tt := range tests {
		if got := number(tt.in); got != tt.want {
			t.Errorf("number(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReportWriters(t *testing.T) {
	r := &Report{Size: 10000, Cores: 2, GoVersion: "go1.26", At: "2026-12-07 12:30 UTC", Notes: []string{"shared machine"},
		Figures: []Figure{
			{Name: "ingest", Value: 81234.5, Unit: "changes/s", Target: "≥ 80,000"},
			{Name: "full sync", Value: 0.4567, Unit: "s", Target: "< 0.8 (100k)"},
		}}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Real-size benchmark: 10,000 peer-workload contacts\n",
		"2026-12-07 12:30 UTC, go1.26, 2 cores.\n",
		"- shared machine\n",
		"| ingest | 81,235 | changes/s | ≥ 80,000 |\n",
		"| full sync | 0.457 | s | < 0.8 (100k) |\n",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Size != 10000 || got.Cores != 2 || len(got.Figures) != 2 || got.Figures[1] != r.Figures[1] {
		t.Fatalf("JSON round trip = %+v, want %+v", got, *r)
	}
}

func TestMedianTablet(t *testing.T) {
	runs := []tabletResult{
		{Seconds: 3, WireBytes: 10, Pulled: 5, PeakRSS: 300, serverCPU: 2, peakAnon: 7, peakFile: 40},
		{Seconds: 1, WireBytes: 30, Pulled: 5, PeakRSS: 100, serverCPU: 3, peakAnon: 9, peakFile: 20},
		{Seconds: 2, WireBytes: 20, Pulled: 5, PeakRSS: 200, serverCPU: 1, peakAnon: 8, peakFile: 30},
	}
	want := tabletResult{Seconds: 2, WireBytes: 20, Pulled: 5, PeakRSS: 200, serverCPU: 2, peakAnon: 8, peakFile: 30}
	if got := medianTablet(runs); got != want {
		t.Fatalf("medianTablet = %+v, want %+v", got, want)
	}
	if got := medianTablet(runs[:1]); got != runs[0] {
		t.Fatalf("medianTablet of one run = %+v, want %+v", got, runs[0])
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{{"10k", 10_000, true}, {"100K", 100_000, true}, {"1m", 1_000_000, true}, {"2500", 2500, true}, {"k", 0, false}, {"-3", 0, false}, {"ten", 0, false}}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseSize(%q) = %d, %v; want %d (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
