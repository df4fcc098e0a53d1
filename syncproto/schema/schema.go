// Package schema is Throughcare's schema registry: the record types, their
// fields, each field's type and allowed values, which fields a new record
// needs, which roles may write a field, and the strict validation of a
// change against them.
//
// The registry is versioned. Changes are additive: a new version may add
// record types, optional fields and enumeration values, never remove or
// retype them. Every field remembers the version that introduced it, so a
// change is validated against the schema version its device was built for,
// and an old device's changes keep validating after the server moves on.
//
// The same registry is compiled into the server and the SDK.
package schema

import (
	"fmt"
	"slices"
	"sort"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Type is the type of a field's value.
type Type int

// The field types.
const (
	// String is short single-line text (names, organisations).
	String Type = iota + 1
	// Text is free text that may span lines (notes).
	Text
	// Integer is a whole number within the field's Min and Max.
	Integer
	// Decimal is a decimal number written as text.
	Decimal
	// Bool is true or false.
	Bool
	// Timestamp is an instant.
	Timestamp
	// Date is a calendar date.
	Date
	// Enum is one of the field's Values.
	Enum
	// Set is a set of the field's Values, edited by set_add and set_remove.
	Set
	// Ref is the UUID of another record.
	Ref
	// Tombstone marks the record deleted; only the reserved field "deleted".
	Tombstone
)

var typeNames = map[Type]string{
	String: "string", Text: "text", Integer: "integer", Decimal: "decimal", Bool: "bool",
	Timestamp: "timestamp", Date: "date", Enum: "enum", Set: "set", Ref: "record id", Tombstone: "tombstone",
}

// String names the type.
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Field describes one field of a record type.
type Field struct {
	// Name is the field's name on the wire.
	Name string
	// Type is the type of its value.
	Type Type
	// Values are the allowed values of an Enum or Set field.
	Values []string
	// Required fields must be set by the push that creates a record.
	Required bool
	// Since is the schema version that introduced the field.
	Since uint32
	// MaxLen is the most characters a String or Text value may have.
	MaxLen int
	// Min and Max bound an Integer value, and a Decimal value when Max is
	// above Min (a Decimal field with neither is unbounded).
	Min, Max int64
	// Writers, if set, are the only roles that may write the field (in a
	// record the writer reaches); empty, every role may. The server refuses
	// any other role's change (REJECT_REASON_FORBIDDEN_FIELD) and the SDK
	// refuses it before queueing it. Roles are their wire form
	// (v1.Role_ROLE_WORKER, _SUPERVISOR, _ADMIN), which the server's
	// identity.Role maps to.
	Writers []v1.Role
	// Doc says what the field means.
	Doc string
}

// WritableBy reports whether a user of role may write the field.
func (f *Field) WritableBy(role v1.Role) bool {
	return len(f.Writers) == 0 || slices.Contains(f.Writers, role)
}

// Authorship is how a record type's author is kept.
type Authorship int

const (
	// NoAuthor: the record type has no author field.
	NoAuthor Authorship = iota
	// AuthorFixed: the "author" field is the user who creates the record
	// and never changes; anyone who may write the record may change its
	// other fields (an appointment a colleague books, covering, keeps its
	// booker).
	AuthorFixed
	// AuthorOwns: as AuthorFixed, and only the author, or a supervisor or
	// admin correcting it, may change the other fields (a contact, a TOP).
	AuthorOwns
)

// RecordType describes a record type and its fields.
type RecordType struct {
	// Name is the record type's name on the wire.
	Name string
	// Since is the schema version that introduced the record type.
	Since uint32
	// Doc says what a record of this type is.
	Doc string
	// Fields are the record's fields, in the order they are documented.
	Fields []Field
	// Authorship says how the record's "author" field is kept (package
	// access enforces it; the zero value: the type has no author).
	Authorship Authorship

	byName map[string]*Field
}

// Field returns the named field.
func (rt *RecordType) Field(name string) (*Field, bool) {
	f, ok := rt.byName[name]
	return f, ok
}

// Required returns the names of the fields a new record must set.
func (rt *RecordType) Required() []string {
	var out []string
	for _, f := range rt.Fields {
		if f.Required {
			out = append(out, f.Name)
		}
	}
	return out
}

// Registry is a complete, versioned schema. It is immutable once built and
// safe for concurrent use.
type Registry struct {
	version       uint32
	minCompatible uint32
	types         map[string]*RecordType
	names         []string
}

// New builds a registry at version from record types. Devices whose cursors
// were issued under a schema older than minCompatible must re-sync. New
// checks the definitions (unique names, enumerations present, versions in
// range) so a mistake fails at start-up, not at the first push.
func New(version, minCompatible uint32, types ...RecordType) (*Registry, error) {
	if version == 0 || minCompatible == 0 || minCompatible > version {
		return nil, fmt.Errorf("schema: bad versions %d (min compatible %d)", version, minCompatible)
	}
	r := &Registry{version: version, minCompatible: minCompatible, types: map[string]*RecordType{}}
	for _, t := range types {
		if t.Name == "" || r.types[t.Name] != nil {
			return nil, fmt.Errorf("schema: record type %q is empty or repeated", t.Name)
		}
		if t.Since == 0 || t.Since > version {
			return nil, fmt.Errorf("schema: record type %s: since %d outside 1..%d", t.Name, t.Since, version)
		}
		rt := t
		rt.Fields = slices.Clone(t.Fields)
		rt.byName = map[string]*Field{}
		for i := range rt.Fields {
			f := &rt.Fields[i]
			f.Writers = slices.Clone(f.Writers)
			if err := checkFieldDef(&rt, f, version); err != nil {
				return nil, err
			}
			if rt.byName[f.Name] != nil {
				return nil, fmt.Errorf("schema: %s.%s defined twice", rt.Name, f.Name)
			}
			rt.byName[f.Name] = f
		}
		if a := rt.byName["author"]; rt.Authorship != NoAuthor && (a == nil || a.Type != String || !a.Required) {
			return nil, fmt.Errorf("schema: %s has an author but no required string field author", rt.Name)
		}
		if _, ok := rt.byName[DeletedField]; !ok {
			return nil, fmt.Errorf("schema: record type %s lacks the reserved field %q", rt.Name, DeletedField)
		}
		r.types[rt.Name] = &rt
		r.names = append(r.names, rt.Name)
	}
	sort.Strings(r.names)
	return r, nil
}

func checkFieldDef(rt *RecordType, f *Field, version uint32) error {
	typ := rt.Name
	switch {
	case f.Name == "":
		return fmt.Errorf("schema: %s has a field with no name", typ)
	case f.Since < rt.Since || f.Since > version:
		return fmt.Errorf("schema: %s.%s: since %d outside %d..%d", typ, f.Name, f.Since, rt.Since, version)
	case (f.Type == Enum || f.Type == Set) && len(f.Values) == 0:
		return fmt.Errorf("schema: %s.%s: %s field without values", typ, f.Name, f.Type)
	case (f.Type == String || f.Type == Text) && f.MaxLen <= 0:
		return fmt.Errorf("schema: %s.%s: %s field without a maximum length", typ, f.Name, f.Type)
	case (f.Type == Integer || f.Type == Decimal) && f.Min > f.Max:
		return fmt.Errorf("schema: %s.%s: min %d above max %d", typ, f.Name, f.Min, f.Max)
	case (f.Name == DeletedField) != (f.Type == Tombstone):
		return fmt.Errorf("schema: %s.%s: only the field %q holds tombstones", typ, f.Name, DeletedField)
	case f.Required && f.Since > rt.Since:
		return fmt.Errorf("schema: %s.%s: a field added after its record type cannot be required (devices that made records before it do not know it)", typ, f.Name)
	}
	for i, r := range f.Writers {
		if _, ok := roles[r]; !ok || slices.Contains(f.Writers[:i], r) {
			return fmt.Errorf("schema: %s.%s: writer %v is not a role or is repeated", typ, f.Name, r)
		}
	}
	return nil
}

// roles are the roles a field's Writers may name.
var roles = map[v1.Role]bool{v1.Role_ROLE_WORKER: true, v1.Role_ROLE_SUPERVISOR: true, v1.Role_ROLE_ADMIN: true}

// MustNew is New that panics on a definition error; for the built-in schema.
func MustNew(version, minCompatible uint32, types ...RecordType) *Registry {
	r, err := New(version, minCompatible, types...)
	if err != nil {
		panic(err)
	}
	return r
}

// Version returns the registry's schema version.
func (r *Registry) Version() uint32 { return r.version }

// MinCompatible returns the oldest schema version whose cursors remain valid.
func (r *Registry) MinCompatible() uint32 { return r.minCompatible }

// Type returns the named record type.
func (r *Registry) Type(name string) (*RecordType, bool) {
	t, ok := r.types[name]
	return t, ok
}

// MayWrite reports whether a user of role may write a field of a record
// type (Field.WritableBy). A record type or field the registry does not
// know is left to validation, which refuses it: MayWrite says yes.
func (r *Registry) MayWrite(role v1.Role, recordType, field string) bool {
	rt, ok := r.types[recordType]
	if !ok {
		return true
	}
	f, ok := rt.byName[field]
	return !ok || f.WritableBy(role)
}

// Types returns every record type, sorted by name.
func (r *Registry) Types() []*RecordType {
	out := make([]*RecordType, 0, len(r.names))
	for _, n := range r.names {
		out = append(out, r.types[n])
	}
	return out
}

// Extend returns a new registry at version with extra fields added to
// existing record types and extra record types added. It is how an additive
// schema change is written, and how tests check that old devices keep working.
func (r *Registry) Extend(version uint32, fields map[string][]Field, types ...RecordType) (*Registry, error) {
	var all []RecordType
	for _, n := range r.names {
		t := *r.types[n]
		t.Fields = append(slices.Clone(t.Fields), fields[n]...)
		all = append(all, t)
	}
	for n := range fields {
		if r.types[n] == nil {
			return nil, fmt.Errorf("schema: cannot add fields to unknown record type %q", n)
		}
	}
	all = append(all, types...)
	return New(version, r.minCompatible, all...)
}

// AsOf returns the registry as it stood at an earlier version: the record
// types and fields introduced by then (a schema change is additive, so
// nothing else differed). It is how an old device is built in tests and
// tools. A version outside 1..Version is an error.
func (r *Registry) AsOf(version uint32) (*Registry, error) {
	if version == 0 || version > r.version {
		return nil, fmt.Errorf("schema: version %d outside 1..%d", version, r.version)
	}
	var types []RecordType
	for _, n := range r.names {
		t := *r.types[n]
		if t.Since > version {
			continue
		}
		t.Fields = slices.DeleteFunc(slices.Clone(t.Fields), func(f Field) bool { return f.Since > version })
		types = append(types, t)
	}
	return New(version, min(r.minCompatible, version), types...)
}
