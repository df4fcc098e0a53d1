package console

import (
	"io/fs"
	"regexp"
	"testing"

	"github.com/throughcare/throughcare/syncproto/schema"
)

// TestDisplayedFieldsAreInTheSchema: display.js orders record fields by
// hand; each name it lists must be a field of its record type, so that a
// renamed field fails here rather than vanishing from the console.
func TestDisplayedFieldsAreInTheSchema(t *testing.T) {
	b, err := fs.ReadFile(static, "static/js/display.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ list, recordType string }{
		{"CONTACT_FIELDS", "contact"},
		{"CLIENT_FIELDS", "client"},
	} {
		m := regexp.MustCompile(`export const ` + tt.list + ` = \[([^\]]*)\]`).FindSubmatch(b)
		if m == nil {
			t.Errorf("display.js has no %s", tt.list)
			continue
		}
		rt, _ := schema.Builtin().Type(tt.recordType)
		names := regexp.MustCompile(`'([^']*)'`).FindAllSubmatch(m[1], -1)
		if len(names) < 5 {
			t.Errorf("%s lists only %d fields", tt.list, len(names))
		}
		for _, n := range names {
			if _, ok := rt.Field(string(n[1])); !ok {
				t.Errorf("%s lists %q, which is not a field of %s", tt.list, n[1], tt.recordType)
			}
		}
	}
}
