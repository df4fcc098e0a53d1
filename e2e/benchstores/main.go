// Command benchstores turns `go test -bench` output of benchmarks that run
// on both stores (sub-benchmarks named "badger" and "postgres", see
// server/api/stores_bench_test.go) into a Markdown table: each figure with
// its unit, the median over the runs (-count) on each store, and the ratio
// postgres / badger. `make bench-stores` runs it:
//
//	go test -run '^$' -bench ... -count 3 ./server/api/ | go run ./e2e/benchstores > .tmp/bench-stores.md
package main

import (
	"fmt"
	"os"
)

func main() {
	rows, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchstores:", err)
		os.Exit(1)
	}
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "benchstores: no benchmark on both stores in the input")
		os.Exit(1)
	}
	if err := write(os.Stdout, rows); err != nil {
		fmt.Fprintln(os.Stderr, "benchstores:", err)
		os.Exit(1)
	}
}
