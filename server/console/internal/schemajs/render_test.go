package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/throughcare/throughcare/syncproto/schema"
)

// committed is the generated file, relative to this package.
const committed = "../../static/js/schema.js"

// TestCommittedFileIsCurrent: the console's schema.js is what the
// generator writes for the built-in registry, so a registry change that
// was not regenerated fails here (and in make checkgenerate).
func TestCommittedFileIsCurrent(t *testing.T) {
	want, err := render(schema.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run make generate and commit it", committed)
	}
}

func TestRender(t *testing.T) {
	deleted := schema.Field{Name: schema.DeletedField, Type: schema.Tombstone, Since: 1}
	enum := func(name string, vs ...string) schema.Field {
		return schema.Field{Name: name, Type: schema.Enum, Values: vs, Since: 1}
	}
	reg := schema.MustNew(3, 1,
		schema.RecordType{Name: "contact", Since: 1, Fields: []schema.Field{
			enum("category", "housing", "it's"), enum("status", "open", "shut"), deleted,
		}},
		schema.RecordType{Name: "goal", Since: 1, Fields: []schema.Field{
			enum("status", "open", "met"), {Name: "tags", Type: schema.Set, Values: []string{"x"}, Since: 1}, deleted,
		}},
	)
	b, err := render(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"export const SCHEMA_VERSION = 3;\n",
		`export const CATEGORIES = ['housing', 'it\'s'];` + "\n",
		"export const ENUMS = {\n  category: ['housing', 'it\\'s'],\n  status: ['open', 'shut', 'met'],\n};\n",
		"const TYPE_ENUMS = {\n  contact: {\n    category: ['housing', 'it\\'s'],\n    status: ['open', 'shut'],\n  },\n  goal: {\n    status: ['open', 'met'],\n  },\n};\n",
		`const BLANK = /^[\x09-\x0d\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/u;` + "\n",
		"export function enumValues(recordType, fieldName) {",
		"export function queryAnswered(response) {",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the module lacks\n%s\ngot:\n%s", want, b)
		}
	}
	if _, err := render(schema.MustNew(1, 1, schema.RecordType{Name: "goal", Since: 1, Fields: []schema.Field{deleted}})); err == nil {
		t.Error("a registry without contact categories rendered")
	}
}

func TestList(t *testing.T) {
	long := strings.Repeat("x", 50)
	for _, tt := range []struct {
		vs   []string
		col  int
		want string
	}{
		{nil, 0, "[]"},
		{[]string{"a"}, 0, "['a']"},
		{[]string{"a", "b"}, 10, "['a', 'b']"},
		{[]string{long, long, long}, 0, "['" + long + "', '" + long + "',\n  '" + long + "']"},
	} {
		if got := list(tt.vs, tt.col, "  "); got != tt.want {
			t.Errorf("list(%q, %d) = %q, want %q", tt.vs, tt.col, got, tt.want)
		}
	}
}

func TestCharClass(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   func(rune) bool
		want string
	}{
		{"one", func(r rune) bool { return r == 'a' }, `\x61`},
		{"two adjacent", func(r rune) bool { return r == 'a' || r == 'b' }, `\x61\x62`},
		{"a range", func(r rune) bool { return r >= 'a' && r <= 'z' }, `\x61-\x7a`},
		{"wide", func(r rune) bool { return r == 0x3000 || r == 0x1f600 }, `\u3000\u{1f600}`},
		{"not surrogates", func(r rune) bool { return r >= 0xd7ff && r <= 0xe000 }, `\ud7ff\ue000`},
	} {
		if got := charClass(tt.in); got != tt.want {
			t.Errorf("%s: charClass = %s, want %s", tt.name, got, tt.want)
		}
	}
}
