// Command schemajs writes the console's static/js/schema.js from the schema
// registry (syncproto/schema): the enumerations the console filters,
// labels and resolves conflicts with, and its copy of the rule for a
// query's answer, so that neither can drift from the server's. `make
// generate` runs it; its test fails if the committed file is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/throughcare/throughcare/syncproto/schema"
)

func main() {
	out := flag.String("o", "server/console/static/js/schema.js", "the file to write")
	flag.Parse()
	b, err := render(schema.Builtin())
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemajs:", err)
		os.Exit(1)
	}
}
