package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AuditAction is what an audit entry records. The numbers are part of the
// canonical encoding (see Audit.Encode): never renumber one, only add.
type AuditAction uint16

// The audited actions.
const (
	AuditSignIn AuditAction = iota + 1
	AuditEnrol
	AuditRevokeDevice
	AuditViewContacts
	AuditViewTimeline
	AuditViewConflicts
	AuditViewStatistics
	AuditExportContacts
	AuditExportStatistics
	AuditExportComplete
	AuditExportIncomplete
	AuditPull
	AuditSubscribe
	AuditPush
	AuditReviewNote
	AuditResolveConflict
	AuditReadAudit
	AuditCreateClient
	AuditSubjectAccess
	AuditRetentionPurge
	AuditSetRetention
	AuditTakeBackup
	AuditMintAdminInvite
	AuditCreateInvite
	AuditRevokeInvite
	AuditAssignClient
	AuditUnassignClient
	AuditDisableUser
	AuditSignInRefused
	AuditCloseClient
	AuditListClients
	AuditViewOutcomeMovement
	AuditExportOutcomeMovement
	AuditViewOrderReport
	AuditSetTOPInterval
	auditActionEnd
)

var auditActionNames = [...]string{
	AuditSignIn:           "sign_in",
	AuditEnrol:            "enrol",
	AuditRevokeDevice:     "revoke_device",
	AuditViewContacts:     "view_contacts",
	AuditViewTimeline:     "view_timeline",
	AuditViewConflicts:    "view_conflicts",
	AuditViewStatistics:   "view_statistics",
	AuditExportContacts:   "export_contacts",
	AuditExportStatistics: "export_statistics",
	AuditExportComplete:   "export_complete",
	AuditExportIncomplete: "export_incomplete",
	AuditPull:             "pull",
	AuditSubscribe:        "subscribe",
	AuditPush:             "push",
	AuditReviewNote:       "review_note",
	AuditResolveConflict:  "resolve_conflict",
	AuditReadAudit:        "read_audit",
	AuditCreateClient:     "create_client",
	AuditSubjectAccess:    "subject_access",
	AuditRetentionPurge:   "retention_purge",
	AuditSetRetention:     "set_retention",
	AuditTakeBackup:       "take_backup",
	AuditMintAdminInvite:  "mint_admin_invite",
	AuditCreateInvite:     "create_invite",
	AuditRevokeInvite:     "revoke_invite",
	AuditAssignClient:     "assign_client",
	AuditUnassignClient:   "unassign_client",
	AuditDisableUser:      "disable_user",
	AuditSignInRefused:    "sign_in_refused",
	AuditCloseClient:      "close_client",
	AuditListClients:      "list_clients",

	AuditViewOutcomeMovement:   "view_outcome_movement",
	AuditExportOutcomeMovement: "export_outcome_movement",
	AuditViewOrderReport:       "view_order_report",
	AuditSetTOPInterval:        "set_top_interval",
}

// String names the action ("sign_in").
func (a AuditAction) String() string {
	if a == 0 || a >= auditActionEnd {
		return fmt.Sprintf("action_%d", uint16(a))
	}
	return auditActionNames[a]
}

// MarshalText writes the action's name (so JSON shows "sign_in").
func (a AuditAction) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads an action's name.
func (a *AuditAction) UnmarshalText(b []byte) error {
	if *a = ParseAuditAction(string(b)); *a == 0 {
		return fmt.Errorf("store: unknown audit action %q", b)
	}
	return nil
}

// Valid reports whether a is one of the audited actions.
func (a AuditAction) Valid() bool { return a > 0 && a < auditActionEnd }

// ParseAuditAction returns the action named s, or 0.
func ParseAuditAction(s string) AuditAction {
	for a := AuditSignIn; a < auditActionEnd; a++ {
		if auditActionNames[a] == s {
			return a
		}
	}
	return 0
}

// Audit is one entry of an area's audit trail: who (user, role) did what
// (Action) to which clients or record, when, from which device and
// address, and how many records or rows it concerned. It holds ids,
// numbers and times only, never names, notes or any other free text.
//
// Entries are append-only and hash-chained per area: an entry's Seq is its
// position in its area's chain (from 1) and Prev the SHA-256 of the
// canonical encoding of the entry before it (zero for the first). Seq and
// Prev are given when the entry is sealed into the chain (see
// BucketTx.AppendAudit); VerifyAudit checks the chains.
type Audit struct {
	Seq  uint64
	Prev [32]byte
	// At is when it happened, in UTC (the caller's injected clock).
	At               time.Time
	AreaID, UserID   string
	Role             string
	Action           AuditAction
	DeviceID         string
	Address          string
	ClientIDs        []string
	RecordID, TeamID string
	// Count is how many records, changes or rows the action concerned.
	Count uint64
	// From and To bound the period an export or a view covered (zero:
	// none).
	From, To time.Time
}

// auditMagic starts every encoded entry: the encoding's version.
var auditMagic = []byte("tca1")

// Encode returns the entry's canonical encoding, the bytes the chain
// hashes and stores:
//
//	"tca1" seq(8) prev(32) at(8) action(2) count(8) from(8) to(8)
//	area user role device address record team   (each: len(4) bytes)
//	n(4) then n client ids                      (each: len(4) bytes)
//
// Integers are big-endian; times are Unix nanoseconds (0 for a zero
// From or To). Nothing else is encoded, so an entry has
// exactly one encoding.
func (a *Audit) Encode() []byte {
	n := len(auditMagic) + 8 + 32 + 8 + 2 + 8 + 16 + 4
	strs := a.strings()
	for _, s := range strs {
		n += 4 + len(s)
	}
	for _, c := range a.ClientIDs {
		n += 4 + len(c)
	}
	b := make([]byte, 0, n)
	b = append(b, auditMagic...)
	b = binary.BigEndian.AppendUint64(b, a.Seq)
	b = append(b, a.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(a.At.UnixNano()))
	b = binary.BigEndian.AppendUint16(b, uint16(a.Action))
	b = binary.BigEndian.AppendUint64(b, a.Count)
	b = binary.BigEndian.AppendUint64(b, unixNano(a.From))
	b = binary.BigEndian.AppendUint64(b, unixNano(a.To))
	for _, s := range strs {
		b = appendString(b, s)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.ClientIDs)))
	for _, c := range a.ClientIDs {
		b = appendString(b, c)
	}
	return b
}

func (a *Audit) strings() []string {
	return []string{a.AreaID, a.UserID, a.Role, a.DeviceID, a.Address, a.RecordID, a.TeamID}
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func fromUnixNano(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n)).UTC()
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// Hash returns the SHA-256 of the entry's canonical encoding: what the
// next entry holds as Prev.
func (a *Audit) Hash() [32]byte { return sha256.Sum256(a.Encode()) }

// errAuditEncoding reports bytes that are not a canonical audit entry.
var errAuditEncoding = errors.New("store: not an audit entry")

// DecodeAudit parses an entry's canonical encoding (see Audit.Encode).
func DecodeAudit(b []byte) (*Audit, error) {
	d := auditDecoder{b: b}
	if string(d.take(len(auditMagic))) != string(auditMagic) {
		return nil, errAuditEncoding
	}
	a := &Audit{}
	a.Seq = d.u64()
	copy(a.Prev[:], d.take(32))
	a.At = time.Unix(0, int64(d.u64())).UTC()
	a.Action = AuditAction(d.u16())
	a.Count = d.u64()
	a.From, a.To = fromUnixNano(d.u64()), fromUnixNano(d.u64())
	for _, p := range []*string{&a.AreaID, &a.UserID, &a.Role, &a.DeviceID, &a.Address, &a.RecordID, &a.TeamID} {
		*p = d.str()
	}
	n := d.u32()
	if d.err == nil && uint64(n) > uint64(len(d.b)) {
		d.err = errAuditEncoding
	}
	for range n {
		if d.err != nil {
			break
		}
		a.ClientIDs = append(a.ClientIDs, d.str())
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errAuditEncoding
	}
	return a, nil
}

type auditDecoder struct {
	b   []byte
	err error
}

func (d *auditDecoder) take(n int) []byte {
	if d.err != nil || n > len(d.b) {
		d.err = errAuditEncoding
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *auditDecoder) u16() uint16 {
	if p := d.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *auditDecoder) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *auditDecoder) u64() uint64 {
	if p := d.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *auditDecoder) str() string {
	n := d.u32()
	if d.err != nil || uint64(n) > uint64(len(d.b)) {
		d.err = errAuditEncoding
		return ""
	}
	return string(d.take(int(n)))
}

// PendingAudit checks an entry a BucketTx or DirTx is asked to append and
// returns it as it is kept until it is sealed into its area's chain (Seq
// and Prev zero, At set and in UTC): what every backend's AppendAudit
// stores. See checkAppend.
func PendingAudit(a *Audit, now time.Time) (*Audit, error) { return checkAppend(a, now) }

// checkAppend validates an entry to append: an area and a known action
// are required; the ids it is indexed under must not hold a 0 byte (the
// key separator). A zero At becomes now; At is kept in UTC.
func checkAppend(a *Audit, now time.Time) (*Audit, error) {
	if a == nil || a.AreaID == "" || !a.Action.Valid() {
		return nil, errors.New("store: an audit entry needs an area and a known action")
	}
	ids := append([]string{a.AreaID, a.UserID}, a.ClientIDs...)
	for _, id := range ids {
		if strings.IndexByte(id, 0) >= 0 {
			return nil, errors.New("store: an audit entry's ids may not hold a 0 byte")
		}
	}
	e := *a
	e.ClientIDs = append([]string(nil), a.ClientIDs...)
	e.Seq, e.Prev = 0, [32]byte{}
	if e.At.IsZero() {
		e.At = now
	}
	e.At = e.At.UTC()
	if !e.From.IsZero() {
		e.From = e.From.UTC()
	}
	if !e.To.IsZero() {
		e.To = e.To.UTC()
	}
	return &e, nil
}
