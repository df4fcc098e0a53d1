package serverproc

import (
	"fmt"
	"io"
	"time"
)

// Summary is what a soak's RSS series comes to.
type Summary struct {
	Start, Middle, End, Peak Sample
}

// Summarize returns the first, middle, last and largest (by RSS; the
// earliest of equals) samples of a series in time order. It needs at
// least one sample.
func Summarize(series []Sample) (Summary, error) {
	if len(series) == 0 {
		return Summary{}, fmt.Errorf("no samples")
	}
	s := Summary{Start: series[0], End: series[len(series)-1], Peak: series[0]}
	// The middle is the sample nearest half of the run's duration.
	half := series[0].At + (s.End.At-series[0].At)/2
	s.Middle = series[0]
	for _, x := range series {
		if x.RSS > s.Peak.RSS {
			s.Peak = x
		}
		if absDur(x.At-half) < absDur(s.Middle.At-half) {
			s.Middle = x
		}
	}
	return s, nil
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

// MB formats bytes as MB (2^20 bytes), the unit of the figures.
func MB(n int64) string { return fmt.Sprintf("%.0f", float64(n)/(1<<20)) }

// Clock formats a time into the run as m:ss.
func Clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d/time.Minute), int(d%time.Minute/time.Second))
}

// WriteSeries writes the summary table, then the whole series.
func WriteSeries(w io.Writer, title string, series []Sample, extra []string) error {
	sum, err := Summarize(series)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "## %s\n\n", title)
	for _, line := range extra {
		fmt.Fprintf(w, "- %s\n", line)
	}
	fmt.Fprintf(w, "\n| point | at | RSS MB | anon MB | file MB | Go heap live MB | GC goal MB |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, p := range []struct {
		name string
		s    Sample
	}{{"start", sum.Start}, {"middle", sum.Middle}, {"end", sum.End}, {"peak", sum.Peak}} {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", p.name, Clock(p.s.At), MB(p.s.RSS), MB(p.s.Anon), MB(p.s.File), MB(p.s.Heap), MB(p.s.Goal))
	}
	fmt.Fprintf(w, "\n<details><summary>series (%d samples)</summary>\n\n| at | RSS MB | anon MB | file MB | heap MB | goal MB |\n| --- | --- | --- | --- | --- | --- |\n", len(series))
	for _, s := range series {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", Clock(s.At), MB(s.RSS), MB(s.Anon), MB(s.File), MB(s.Heap), MB(s.Goal))
	}
	_, err = fmt.Fprintf(w, "\n</details>\n")
	return err
}
