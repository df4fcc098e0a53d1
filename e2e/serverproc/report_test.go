package serverproc

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func series(rss ...int64) []Sample {
	out := make([]Sample, len(rss))
	for i, r := range rss {
		out[i] = Sample{At: time.Duration(i) * 5 * time.Second, RSS: r << 20, Anon: r << 19, File: r << 19, Heap: r << 18, Goal: r << 19}
	}
	return out
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name                  string
		series                []Sample
		start, mid, end, peak time.Duration // the At of each
	}{
		{"one sample", series(100), 0, 0, 0, 0},
		{"peak in the middle", series(100, 300, 700, 380, 380), 0, 10 * time.Second, 20 * time.Second, 10 * time.Second},
		{"even count: the first nearest the middle", series(100, 200, 300, 400), 0, 5 * time.Second, 15 * time.Second, 15 * time.Second},
		{"equal peaks: the earliest", series(100, 500, 200, 500, 100), 0, 10 * time.Second, 20 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Summarize(tt.series)
			if err != nil {
				t.Fatal(err)
			}
			got := []time.Duration{s.Start.At, s.Middle.At, s.End.At, s.Peak.At}
			want := []time.Duration{tt.start, tt.mid, tt.end, tt.peak}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("Summarize: start, middle, end, peak at %v, want %v", got, want)
				}
			}
		})
	}
	if _, err := Summarize(nil); err == nil {
		t.Fatal("Summarize of no samples: want an error")
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	s := series(113, 693, 380)
	s[2].At = 20 * time.Minute
	if err := WriteSeries(&b, "Soak", s, []string{"20 tablets"}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"## Soak\n", "- 20 tablets\n",
		"| start | 0:00 | 113 | 56 | 56 | 28 | 56 |\n",
		"| middle | 0:05 | 693 | 346 | 346 | 173 | 346 |\n", // nearest 10:00 of 0:00, 0:05, 20:00
		"| end | 20:00 | 380 | 190 | 190 | 95 | 190 |\n",
		"| peak | 0:05 | 693 | 346 | 346 | 173 | 346 |\n",
		"series (3 samples)", "| 20:00 | 380 | 190 | 190 | 95 | 190 |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
