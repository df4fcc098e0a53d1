package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// NewClient describes a client to create.
type NewClient struct {
	// TeamID is the team responsible for the client (required).
	TeamID string
	// GivenName and FamilyName are required.
	GivenName, FamilyName string
	// DateOfBirth is optional (nil: unknown).
	DateOfBirth *v1.Date
	// Pathway is one of schema.Pathways.
	Pathway string
	// IdempotencyKey, if set, makes retries of the same request harmless:
	// the same caller with the same key always names the same client (see
	// CreateClient). At most MaxIdempotencyKeyLen printable ASCII characters.
	IdempotencyKey string
}

// MaxIdempotencyKeyLen bounds NewClient.IdempotencyKey.
const MaxIdempotencyKeyLen = 128

// ClientSummary says who a client is and who is responsible for them.
type ClientSummary struct {
	ID, TeamID string
	// WorkerIDs are the workers currently assigned, sorted.
	WorkerIDs []string
	// DisplayName is "Given Family" from the client record, and Status
	// its status ("active", "closed"); both empty if the record is not
	// written yet.
	DisplayName, Status string
}

// clientIDSpace is the UUID namespace of client ids derived from an
// idempotency key.
var clientIDSpace = uuid.MustParse("0f7d2a8e-63c1-4b8e-9d7a-3c5e1b2f4a60")

// CreateClient creates a client in a team the caller reaches (admins and
// supervisors) and returns the client id, which names the client's bucket.
//
// It takes two transactions. First the directory entry (store.Client: id,
// area, team) is written; then the client record is written into the
// client's bucket as server-authored changes (author: the caller on device
// ServerDevice, stamped by the server's clock) with given_name,
// family_name, date_of_birth if known, area, pathway and status "active".
// The record's area field holds the area's name (as devices display it; the
// directory's area id remains the authority on where the client belongs).
// The fields are validated against the built-in schema before anything is
// written. Then the users whose devices hold the new bucket (the team's
// supervisors and the area's admins: access.NewClientHolders) are told
// their caseload changed.
//
// The id of a client purged for retention (see package subject) is never
// used again: a request that would name it is refused (errkind.Exists).
//
// Without an idempotency key the client id is a new UUIDv7 and every call
// creates a client. With a key the id is derived from the caller's area,
// the caller and the key, so a retry finds the client of the first attempt:
// if its record was written the retry just returns the id, and if the first
// attempt failed between the two steps the retry writes the record. If the
// second step fails the call returns an errkind.Unavailable error and the
// directory holds a client with an empty bucket: it is listed and
// assignable but syncs nothing until the request is retried with the same
// key (without a key the retry makes a new client and the empty one stays;
// it holds no personal data).
func (s *Service) CreateClient(ctx context.Context, id *identity.Identity, in NewClient) (string, error) {
	if id == nil {
		return "", access.ErrSignIn
	}
	given, family, err := s.checkNewClient(in)
	if err != nil {
		return "", err
	}
	clientID := newClientID(id, in.IdempotencyKey)
	reg, err := s.registerClient(ctx, id, in, clientID, given, family)
	if err != nil {
		return "", err
	}
	log := s.log.With().Str("user_id", id.UserID).Str("client_id", clientID).Str("team_id", in.TeamID).Logger()
	if reg.existed {
		written, err := s.clientRecordWritten(ctx, clientID)
		if err != nil {
			return "", err
		}
		if written {
			log.Info().Msg("client create retried; already complete")
			return clientID, nil
		}
	}
	if err := s.writeClientRecord(ctx, id, clientID, in.TeamID, reg.changes); err != nil {
		log.Error().Err(err).Msg("client registered but its record was not written")
		return "", errkind.Wrap(errkind.Unavailable, err, "the client's record could not be written; retry the request")
	}
	if len(reg.holders) > 0 {
		s.sessions.CaseloadChanged(reg.holders...)
	}
	log.Info().Bool("completed_retry", reg.existed).Msg("client created")
	return clientID, nil
}

// checkNewClient checks what CreateClient can check before it reads the
// directory: the names (returned trimmed), that a known date of birth is
// not in the future, and the idempotency key's form.
func (s *Service) checkNewClient(in NewClient) (given, family string, err error) {
	given, err = cleanName("given_name", in.GivenName)
	if err != nil {
		return "", "", err
	}
	family, err = cleanName("family_name", in.FamilyName)
	if err != nil {
		return "", "", err
	}
	if dob := in.DateOfBirth; dob != nil && schema.ValidDate(dob) &&
		time.Date(int(dob.Year), time.Month(dob.Month), int(dob.Day), 0, 0, 0, 0, time.UTC).After(s.now()) {
		return "", "", errkind.E(errkind.Invalid, "date_of_birth is in the future")
	}
	key := in.IdempotencyKey
	if len(key) > MaxIdempotencyKeyLen || strings.IndexFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return "", "", errkind.E(errkind.Invalid, "the idempotency key must be at most %d printable ASCII characters", MaxIdempotencyKeyLen)
	}
	return given, family, nil
}

// newClientID names a new client: a new UUIDv7 without an idempotency key;
// with one, derived from the caller's area, the caller and the key, so
// that retries name the same client.
func newClientID(id *identity.Identity, key string) string {
	clientID := uuid.Must(uuid.NewV7()).String()
	if key != "" {
		clientID = uuid.NewSHA1(clientIDSpace, []byte(id.Area+"\x00"+id.UserID+"\x00"+key)).String()
	}
	return clientID
}

// clientRegistration is what CreateClient's directory step leaves for the
// bucket step.
type clientRegistration struct {
	// changes write the client record (validated).
	changes []*v1.Change
	// existed: the directory entry was there already (a retry).
	existed bool
	// holders are the users whose devices hold the new bucket.
	holders []string
}

// registerClient is CreateClient's first step, one directory transaction:
// it resolves the caller's reach and the team, builds and validates the
// client record's changes, writes the directory entry (putClientEntry) and
// finds the bucket's holders.
func (s *Service) registerClient(ctx context.Context, id *identity.Identity, in NewClient, clientID, given, family string) (clientRegistration, error) {
	var reg clientRegistration
	err := s.directory(ctx, func(tx store.DirTx) error {
		reg = clientRegistration{}
		sc, err := access.Resolve(tx, id, access.CreateClients)
		if err != nil {
			return err
		}
		team, err := sc.Team(tx, in.TeamID)
		if err != nil {
			return err
		}
		area, err := tx.Area(sc.Area())
		if err != nil {
			return err
		}
		if reg.changes, err = s.clientRecord(clientID, area.Name, given, family, in.DateOfBirth, in.Pathway); err != nil {
			return err
		}
		if reg.existed, err = s.putClientEntry(tx, clientID, sc.Area(), team.ID); err != nil {
			return err
		}
		reg.holders, err = access.NewClientHolders(tx, sc.Area(), team.ID)
		return err
	})
	if err != nil {
		return clientRegistration{}, err
	}
	return reg, nil
}

// putClientEntry writes the directory entry of a new client in areaID and
// teamID unless it is there already (existed: a retry with the same key).
// It refuses the id of a client purged for retention, and an entry of the
// id in another area or team (the key was used for a different client).
func (s *Service) putClientEntry(tx store.DirTx, clientID, areaID, teamID string) (existed bool, err error) {
	if _, err := tx.PurgedClient(clientID); err == nil {
		return false, errkind.E(errkind.Exists, "this client id belonged to a client purged for retention; ids are never reused")
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	switch c, err := tx.Client(clientID); {
	case err == nil && (c.AreaID != areaID || c.TeamID != teamID):
		return false, errkind.E(errkind.Exists, "this idempotency key was already used for a different client")
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, tx.PutClient(&store.Client{ID: clientID, AreaID: areaID, TeamID: teamID, CreatedAt: s.now()})
	default:
		return false, err
	}
}

// clientRecordWritten reports whether the client's bucket holds its client
// record (a retry of a create that completed).
func (s *Service) clientRecordWritten(ctx context.Context, clientID string) (bool, error) {
	recs, err := s.st.Records(ctx, clientID, []string{clientID})
	if err != nil {
		return false, storeErr(err)
	}
	return recs[clientID] != nil, nil
}

// writeClientRecord is CreateClient's second step: it writes the client
// record's changes as the caller through the Writer, audited
// (create_client), and fails unless every change was applied.
func (s *Service) writeClientRecord(ctx context.Context, id *identity.Identity, clientID, teamID string, changes []*v1.Change) error {
	entry := audit.Entry(ctx, id, store.AuditCreateClient, s.now())
	entry.ClientIDs, entry.TeamID = []string{clientID}, teamID
	res, err := s.w.WriteAudited(ctx, entry, changes, nil)
	if err != nil {
		return err
	}
	for _, r := range res.Results {
		if r.Verdict != v1.Verdict_VERDICT_APPLIED {
			return fmt.Errorf("admin: client record change not applied: %v %v", r.Verdict, r.Reason)
		}
	}
	return nil
}

type field struct {
	name  string
	value *v1.Value
}

// clientRecord builds and validates the changes creating a client record.
// Its messages name fields, never values.
func (s *Service) clientRecord(clientID, area, given, family string, dob *v1.Date, pathway string) ([]*v1.Change, error) {
	str := func(v string) *v1.Value { return &v1.Value{Kind: &v1.Value_StringValue{StringValue: v}} }
	fields := []field{{"given_name", str(given)}, {"family_name", str(family)}}
	if dob != nil {
		fields = append(fields, field{"date_of_birth", &v1.Value{Kind: &v1.Value_DateValue{DateValue: &v1.Date{Year: dob.Year, Month: dob.Month, Day: dob.Day}}}})
	}
	fields = append(fields, field{"area", str(area)}, field{"pathway", str(pathway)}, field{"status", str("active")})

	out := make([]*v1.Change, 0, len(fields))
	for _, f := range fields {
		out = append(out, &v1.Change{RecordId: clientID, RecordType: "client", ClientId: clientID, Field: f.name, Value: f.value})
	}
	if err := s.w.CheckWrite(out); err != nil {
		return nil, errkind.E(errkind.Invalid, "%s", err.Error())
	}
	return out, nil
}

// ListClients lists the clients the caller reaches (an admin: the area's; a
// supervisor: their teams'), only those of teamID if it is set, by id
// (creation order), with the workers currently assigned (for a supervisor,
// only workers in their teams) and their names and status from their
// records. Names are personal data: a list that holds any is audited
// (list_clients: the clients, the team asked for, how many) before it is
// returned.
func (s *Service) ListClients(ctx context.Context, id *identity.Identity, teamID string) ([]ClientSummary, error) {
	out, err := s.clientSummaries(ctx, id, teamID)
	if err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]string, len(out))
	for i := range out {
		ids[i] = out[i].ID
	}
	recs, err := s.st.ClientRecords(ctx, ids)
	if err != nil {
		return nil, storeErr(err)
	}
	for i := range out {
		rec := recs[out[i].ID]
		if rec == nil {
			continue
		}
		name := func(f string) string { return merge.Field(rec, f).GetValue().GetStringValue() }
		out[i].DisplayName = strings.TrimSpace(name("given_name") + " " + name("family_name"))
		out[i].Status = name("status")
	}
	err = s.directory(ctx, func(tx store.DirTx) error {
		a := audit.Entry(ctx, id, store.AuditListClients, s.now())
		a.ClientIDs, a.TeamID, a.Count = ids, teamID, uint64(len(ids))
		return tx.AppendAudit(a)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// clientSummaries lists the clients ListClients returns, without names.
func (s *Service) clientSummaries(ctx context.Context, id *identity.Identity, teamID string) ([]ClientSummary, error) {
	out := []ClientSummary{}
	err := s.view(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.ListClients)
		if err != nil {
			return err
		}
		var ids []string
		switch {
		case teamID != "":
			if _, err := sc.Team(tx, teamID); err != nil {
				return err
			}
			ids = tx.ClientsOfTeam(teamID)
		case sc.Admin():
			ids = tx.ClientsOfArea(sc.Area())
		default:
			for _, t := range sc.Teams() {
				if tm, err := tx.Team(t); err == nil && tm.AreaID == sc.Area() {
					ids = append(ids, tx.ClientsOfTeam(t)...)
				}
			}
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for _, cid := range ids {
			c, err := tx.Client(cid)
			if err != nil {
				return err
			}
			if !sc.HasClient(c) {
				continue
			}
			periods, err := tx.AssignmentsOfClient(cid)
			if err != nil {
				return err
			}
			workers := []string{}
			for _, p := range periods {
				if !p.Open() || slices.Contains(workers, p.UserID) {
					continue
				}
				if !sc.Admin() {
					if u, err := tx.User(p.UserID); err != nil || !sc.SharesTeam(u) {
						continue
					}
				}
				workers = append(workers, p.UserID)
			}
			slices.Sort(workers)
			out = append(out, ClientSummary{ID: c.ID, TeamID: c.TeamID, WorkerIDs: workers})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
