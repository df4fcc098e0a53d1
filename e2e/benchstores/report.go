package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// stores are the sub-benchmark names compared, in the table's order.
var stores = []string{"badger", "postgres"}

// row is one figure of one benchmark: its values on each store, one per
// run.
type row struct {
	bench, unit string
	values      map[string][]float64 // by store
}

// A result line: name, iterations, then value/unit pairs.
var resultLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// parse reads benchmark output and returns the figures of the benchmarks
// whose name has a store element, in the order first seen; the store
// element is taken out of the name (BenchmarkPullDelta/postgres/engine is
// BenchmarkPullDelta/engine on postgres).
func parse(r io.Reader) ([]*row, error) {
	var order []*row
	byKey := map[[2]string]*row{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := resultLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		bench, store := splitStore(m[1])
		if store == "" {
			continue
		}
		f := strings.Fields(m[3])
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("odd value/unit pairs in %q", sc.Text())
		}
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", sc.Text(), err)
			}
			k := [2]string{bench, f[i+1]}
			rw := byKey[k]
			if rw == nil {
				rw = &row{bench: bench, unit: f[i+1], values: map[string][]float64{}}
				byKey[k] = rw
				order = append(order, rw)
			}
			rw.values[store] = append(rw.values[store], v)
		}
	}
	return order, sc.Err()
}

// splitStore takes the store element out of a benchmark's name, returning
// the rest and the store ("" if none).
func splitStore(name string) (bench, store string) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if slices.Contains(stores, p) {
			return strings.Join(slices.Delete(parts, i, i+1), "/"), p
		}
	}
	return name, ""
}

// median of vs (NaN-free; 0 for none).
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// write prints rows as a Markdown table.
func write(w io.Writer, rows []*row) error {
	var b strings.Builder
	b.WriteString("| benchmark | unit | badger | postgres | postgres / badger | runs |\n")
	b.WriteString("|---|---|---:|---:|---:|---|\n")
	for _, r := range rows {
		bg, pg := r.values["badger"], r.values["postgres"]
		ratio := "–"
		if len(bg) > 0 && len(pg) > 0 && median(bg) != 0 {
			ratio = fmt.Sprintf("%.2f×", median(pg)/median(bg))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d, %d |\n", r.bench, r.unit, cell(bg), cell(pg), ratio, len(bg), len(pg))
	}
	b.WriteString("\nMedians over the runs. For times and latencies (ns/op, s/fullpull, *-ms) lower is better; " +
		"for rates (changes/s, records/s) higher is better.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(vs []float64) string {
	if len(vs) == 0 {
		return "–"
	}
	return number(median(vs))
}

// number prints v with four significant digits (whole numbers as they
// are), never in exponent form.
func number(v float64) string {
	if v == math.Trunc(v) || math.Abs(v) >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	digits := max(3-int(math.Floor(math.Log10(math.Abs(v)))), 0)
	return strconv.FormatFloat(v, 'f', digits, 64)
}
