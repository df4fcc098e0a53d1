package subject

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// held is everything held about one client, gathered before the archive
// is written.
type held struct {
	client      *store.Client
	area        *store.Area
	team        *store.Team
	caller      *store.User
	assignments []assignment
	audits      []*store.Audit
	records     map[string][]*v1.RecordState // by record type, in log order
	log         []*v1.HistoryEntry
	at          time.Time
}

type assignment struct {
	WorkerID   string     `json:"worker_id"`
	WorkerName string     `json:"worker_name,omitempty"`
	From       time.Time  `json:"from"`
	To         *time.Time `json:"to,omitempty"`
}

// Export writes the archive of everything held about a client to w (see
// the package doc). Errors about the request (the caller's role, a client
// out of reach: NotFound) come before anything is written; the export is
// audited before any data leaves, and the entry is completed afterwards
// with the number of items written.
func (s *Service) Export(ctx context.Context, id *identity.Identity, clientID string, w io.Writer) error {
	h, err := s.gather(ctx, id, clientID)
	if err != nil {
		return err
	}
	a, err := s.beginAccessAudit(ctx, id, clientID)
	if err != nil {
		return err
	}
	h.audits = append(h.audits, a)
	items, err := h.write(w)
	s.finishAccessAudit(ctx, id, clientID, items, err)
	return err
}

// gather reads the client's directory entries, then their bucket.
func (s *Service) gather(ctx context.Context, id *identity.Identity, clientID string) (*held, error) {
	h := &held{records: map[string][]*v1.RecordState{}, at: s.now().UTC()}
	err := storeErr(s.st.DirectoryView(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.SubjectAccess)
		if err != nil {
			return err
		}
		if h.client, err = sc.Client(tx, clientID); err != nil {
			return err
		}
		if h.caller, err = tx.User(id.UserID); err != nil {
			return err
		}
		if h.area, err = tx.Area(h.client.AreaID); err != nil {
			return err
		}
		if h.team, err = tx.Team(h.client.TeamID); err != nil {
			return err
		}
		if h.assignments, err = assignmentsOf(tx, clientID); err != nil {
			return err
		}
		h.audits, err = auditsAbout(tx, h.client.AreaID, clientID)
		return err
	}))
	if err != nil {
		return nil, err
	}
	err = s.st.ScanRecords(ctx, []string{clientID}, func(_ string, b []byte) error {
		st := &v1.RecordState{}
		if err := proto.Unmarshal(b, st); err != nil {
			return err
		}
		st = merge.Expand(st)
		h.records[st.GetRecordType()] = append(h.records[st.GetRecordType()], st)
		return nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	if h.log, err = s.st.Log(ctx, clientID); err != nil {
		return nil, storeErr(err)
	}
	return h, nil
}

func assignmentsOf(tx store.DirTx, clientID string) ([]assignment, error) {
	as, err := tx.AssignmentsOfClient(clientID)
	if err != nil {
		return nil, err
	}
	out := make([]assignment, 0, len(as))
	for _, a := range as {
		x := assignment{WorkerID: a.UserID, From: a.From.UTC()}
		if u, err := tx.User(a.UserID); err == nil {
			x.WorkerName = u.DisplayName
		}
		if !a.Open() {
			to := a.To.UTC()
			x.To = &to
		}
		out = append(out, x)
	}
	return out, nil
}

// file is one file of the archive.
type file struct {
	name, about string
	items       int
	body        []byte
}

// write writes the archive and returns the number of items in it.
func (h *held) write(w io.Writer) (int, error) {
	files, err := h.files()
	if err != nil {
		return 0, err
	}
	zw := zip.NewWriter(w)
	items := 0
	for _, f := range append([]file{h.summary(files)}, files...) {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: h.at})
		if err != nil {
			return items, err
		}
		if _, err := fw.Write(f.body); err != nil {
			return items, err
		}
		items += f.items
	}
	return items, zw.Close()
}

// files builds every JSON file of the archive, in the order the summary
// lists them.
func (h *held) files() ([]file, error) {
	var out []file
	add := func(name, about string, items int, v any) error {
		b, err := indentJSON(v)
		out = append(out, file{name: name, about: about, items: items, body: b})
		return err
	}
	var record json.RawMessage = []byte("null")
	if recs := h.records["client"]; len(recs) > 0 {
		record = protoJSON(recs[0])
	}
	client := map[string]any{
		"client_id": h.client.ID, "created_at": h.client.CreatedAt.UTC(),
		"area":   map[string]string{"id": h.area.ID, "name": h.area.Name},
		"team":   map[string]string{"id": h.team.ID, "name": h.team.Name},
		"record": record,
	}
	if err := add("client.json", "the client's directory entry (area, team, created) and their current client record", 1, client); err != nil {
		return nil, err
	}
	for _, t := range slices.Sorted(maps.Keys(h.records)) {
		if t == "client" {
			continue
		}
		recs := h.records[t]
		if err := add("records/"+t+".json", "the current state of every "+t+" record, each field with who wrote it and when", len(recs), protoList(recs)); err != nil {
			return nil, err
		}
	}
	if err := add("history.json", "every change ever accepted for the client, oldest first: what was written, by whom, from which device, when, and what it replaced", len(h.log), protoList(h.log)); err != nil {
		return nil, err
	}
	conflicts, n := h.conflicts()
	if err := add("conflicts.json", "conflicting edits: those still open, the changes that raised them and the changes that resolved them", n, conflicts); err != nil {
		return nil, err
	}
	if err := add("assignments.json", "which workers were assigned to the client, from when to when", len(h.assignments), h.assignments); err != nil {
		return nil, err
	}
	if err := add("audit.json", "the audit entries about the client: who viewed, exported or changed their data, and when (this export included)", len(h.audits), h.audits); err != nil {
		return nil, err
	}
	return out, nil
}

// conflicts gathers the open conflicts and the history entries that raised
// or resolved one, and counts them.
func (h *held) conflicts() (map[string]any, int) {
	type open struct {
		RecordID   string          `json:"record_id"`
		RecordType string          `json:"record_type"`
		Conflict   json.RawMessage `json:"conflict"`
	}
	opened := []open{}
	for _, t := range slices.Sorted(maps.Keys(h.records)) {
		for _, st := range h.records[t] {
			for _, c := range st.GetConflicts() {
				opened = append(opened, open{st.GetRecordId(), t, protoJSON(c)})
			}
		}
	}
	var raised, resolved []*v1.HistoryEntry
	for _, e := range h.log {
		if e.GetConflictId() != 0 {
			raised = append(raised, e)
		}
		if len(e.GetResolvedConflicts()) > 0 {
			resolved = append(resolved, e)
		}
	}
	return map[string]any{"open": opened, "raised": protoList(raised), "resolutions": protoList(resolved)},
		len(opened) + len(raised) + len(resolved)
}

var protoOpts = protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: false}

func protoJSON(m proto.Message) json.RawMessage {
	b, err := protoOpts.Marshal(m)
	if err != nil {
		// Only an invalid message fails, and stored ones decoded: say so in
		// the file rather than drop the item.
		b, _ = json.Marshal(map[string]string{"error": "this item could not be encoded: " + err.Error()})
	}
	return b
}

func protoList[M proto.Message](ms []M) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(ms))
	for _, m := range ms {
		out = append(out, protoJSON(m))
	}
	return out
}

// indentJSON encodes v readably (protojson's output is re-indented so that
// every file is laid out alike).
func indentJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
