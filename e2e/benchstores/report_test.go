package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkPullDelta/badger/engine-2     	       1	   1000 ns/op	  300 B/op	    10 allocs/op
BenchmarkPullDelta/postgres/engine-2   	       1	   3000 ns/op	  200 B/op	    20 allocs/op
BenchmarkPullDelta/badger/engine-2     	       1	   2000 ns/op	  300 B/op	    10 allocs/op
BenchmarkPullDelta/postgres/engine-2   	       1	   5000 ns/op	  200 B/op	    20 allocs/op
BenchmarkPullDelta/badger/engine-2     	       1	   9000 ns/op	  300 B/op	    10 allocs/op
BenchmarkPullDelta/postgres/engine-2   	       1	   4000 ns/op	  200 B/op	    20 allocs/op
--- BENCH: BenchmarkPullDelta/postgres/engine-2
    bench_test.go:426: a log line
BenchmarkPushIngest/badger-2         	       1	4070806285 ns/op	     48779 changes/s
BenchmarkPushIngest/postgres-2       	       1	6015685515 ns/op	     33009 changes/s
BenchmarkAgenda-2                    	      20	     100 ns/op
BenchmarkPushIngestEncrypted-2       	       1	 100 ns/op
PASS
`

func TestReport(t *testing.T) {
	rows, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := write(&out, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| BenchmarkPullDelta/engine | ns/op | 2000 | 4000 | 2.00× | 3, 3 |\n",
		"| BenchmarkPullDelta/engine | B/op | 300 | 200 | 0.67× | 3, 3 |\n",
		"| BenchmarkPullDelta/engine | allocs/op | 10 | 20 | 2.00× | 3, 3 |\n",
		"| BenchmarkPushIngest | changes/s | 48779 | 33009 | 0.68× | 1, 1 |\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q; got\n%s", want, out.String())
		}
	}
	if got := len(rows); got != 5 { // 3 figures of PullDelta/engine, 2 of PushIngest; the rest have no store
		t.Errorf("%d rows, want 5", got)
	}
}

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{{0, "0"}, {48779, "48779"}, {1.152, "1.152"}, {51, "51"}, {1234.6, "1235"}, {443.4, "443.4"}, {0.2132, "0.2132"}, {0.004512, "0.004512"}} {
		if got := number(c.in); got != c.want {
			t.Errorf("number(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{9, 1, 4}, 4}, {[]float64{4, 1, 9, 2}, 3}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
