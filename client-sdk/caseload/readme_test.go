package caseload_test

import (
	"os"
	"strings"
	"testing"
)

// README.md's "SDK in five minutes" quotes the examples in
// example_test.go; this keeps the two the same.
func TestReadmeQuotesTheExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Skipf("README.md not found: %v", err)
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "## SDK in five minutes") {
		t.Fatal(`README.md has no "SDK in five minutes" section`)
	}
	for _, name := range []string{"Example", "ExampleDevice_Run"} {
		start := strings.Index(string(src), "\nfunc "+name+"() {\n")
		if start < 0 {
			t.Fatalf("example_test.go has no func %s", name)
		}
		body := string(src[start+1:])
		body = body[:strings.Index(body, "\n}\n")+3]
		if !strings.Contains(string(readme), "```go\n"+body+"```") {
			t.Errorf("README.md does not quote func %s of example_test.go as it is; copy it again", name)
		}
	}
}
