package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/backup"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// drill is a store on disk with a directory and client buckets.
type drill struct {
	t       *testing.T
	st      *store.DB
	world   *fixture.World
	clients []string
	users   []string
	seq     uint64
	clock   *fixture.Clock
}

func newDrill(t *testing.T) *drill {
	clock := fixture.NewClock(time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC))
	st, err := store.Open(store.Options{Dir: t.TempDir(), Logger: zerolog.Nop(), GCInterval: -1, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := &drill{t: t, st: st, world: fixture.NewWorld(t, st), clock: clock}
	for i := range 3 {
		d.clients = append(d.clients, d.world.AddClient(d.world.AreaA, d.world.TeamA1, clock.Now()))
		u, _ := d.world.AddUser(fmt.Sprintf("worker %d", i), d.world.AreaA, identity.Worker, clock.Now(), d.world.TeamA1)
		d.users = append(d.users, u.ID)
	}
	return d
}

// work pushes n changes from one device, spread over the clients, some
// of them edits of records already written.
func (d *drill) work(n int) {
	d.t.Helper()
	b := &syncengine.Batch{UserID: d.users[0], DeviceID: "tablet-1", ReceivedAt: d.clock.Now()}
	for range n {
		d.seq++
		rec := fmt.Sprintf("0193a000-0000-7000-8000-%012x", d.seq%50)
		b.Changes = append(b.Changes, &v1.Change{
			DeviceSeq: d.seq, RecordId: rec, RecordType: "contact", ClientId: d.clients[int(d.seq)%len(d.clients)],
			Field: "notes", Value: &v1.Value{Kind: &v1.Value_StringValue{StringValue: fmt.Sprintf("visit %d", d.seq)}},
			Stamp: &v1.Stamp{Time: hlc.Pack(1_760_000_000_000+int64(d.seq), 0), Replica: "tablet-1"},
		})
	}
	if _, err := syncengine.Apply(context.Background(), d.st, b); err != nil {
		d.t.Fatal(err)
	}
	d.world.AddUser(fmt.Sprintf("user after change %d", d.seq), d.world.AreaA, identity.Supervisor, d.clock.Now(), d.world.TeamA1)
}

// take writes a backup file from since and returns its path and summary.
func (d *drill) take(svc *backup.Service, admin *identity.Identity, since uint64) (string, backup.Summary) {
	d.t.Helper()
	var file bytes.Buffer
	sum, err := svc.Take(context.Background(), admin, since, func(p []byte, _ backup.Progress) error {
		file.Write(p)
		return nil
	})
	if err != nil {
		d.t.Fatal(err)
	}
	path := filepath.Join(d.t.TempDir(), "backup")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		d.t.Fatal(err)
	}
	return path, sum
}

// contents is everything a store holds that a restore must bring back,
// record for record, encoded: each client bucket's log, current states,
// head and late records, the device's high-water mark, and the directory
// (areas, teams, users, devices, clients, assignments, audit, invites).
func contents(t *testing.T, st *store.DB, w *fixture.World, clients []string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	put := func(k string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(b)
	}
	heads, err := st.Heads(ctx, clients)
	if err != nil {
		t.Fatal(err)
	}
	put("heads", heads)
	for _, c := range clients {
		entries, err := st.Log(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(e)
			out[fmt.Sprintf("log %s %d", c, i)] = string(b)
		}
		i := 0
		if err := st.ScanRecords(ctx, []string{c}, func(_ string, state []byte) error {
			out[fmt.Sprintf("state %s %d", c, i)] = string(state)
			i++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		late, err := st.LateRecords(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		put("late "+c, late)
	}
	hw, err := st.HighWater(ctx, "tablet-1")
	if err != nil {
		t.Fatal(err)
	}
	put("high-water", hw)
	if err := st.DirectoryView(ctx, func(tx store.DirTx) error {
		areas, err := tx.Areas()
		put("areas", areas)
		for _, a := range []string{w.AreaA, w.AreaB} {
			for _, id := range tx.TeamsOfArea(a) {
				tm, _ := tx.Team(id)
				put("team "+id, tm)
			}
			for _, id := range tx.UsersOfArea(a) {
				u, _ := tx.User(id)
				put("user "+id, u)
				put("devices "+id, tx.DevicesOfUser(id))
				as, _ := tx.AssignmentsOfUser(id)
				put("assignments "+id, as)
			}
			for _, id := range tx.ClientsOfArea(a) {
				c, _ := tx.Client(id)
				put("client "+id, c)
			}
			au, aerr := tx.AuditOfArea(a, 0, 0)
			if aerr != nil {
				return aerr
			}
			put("audit "+a, au)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func diff(got, want map[string]string) []string {
	var out []string
	for k, v := range want {
		if got[k] != v {
			out = append(out, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, "extra "+k)
		}
	}
	slices.Sort(out)
	return out
}

// The restore drill: a full backup and two incremental ones taken from a
// live store while it is written, restored, compare record for record with
// the source as it was at the last backup; the restored store is
// encrypted with the key given, passes its checks, and has a new cursor
// key.
func TestRestoreDrill(t *testing.T) {
	key, err := storekey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	d := newDrill(t)
	svc, err := backup.New(backup.Config{Source: d.st, Key: key, Now: d.clock.Now, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	_, admin := d.world.AddUser("Ada", d.world.AreaA, identity.Admin, d.clock.Now())
	for range 5 {
		d.work(40)
	}
	full, fsum := d.take(svc, admin, 0)
	d.work(30)
	inc1, isum := d.take(svc, admin, fsum.Until+1)
	d.work(30)
	inc2, _ := d.take(svc, admin, isum.Until+1)
	want := contents(t, d.st, d.world, d.clients)
	d.work(30) // lost: after the last backup
	var taken []string
	if err := d.st.DirectoryView(context.Background(), func(tx store.DirTx) error {
		entries, err := tx.AuditOfUser(d.world.AreaA, admin.UserID, 0, 0)
		for _, e := range entries {
			if e.Action == store.AuditTakeBackup {
				taken = append(taken, e.RecordID)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if wantTaken := []string{"since 0", fmt.Sprint("since ", fsum.Until+1), fmt.Sprint("since ", isum.Until+1)}; !slices.Equal(taken, wantTaken) {
		t.Errorf("audited backups %q, want %q", taken, wantTaken)
	}

	data := filepath.Join(t.TempDir(), "restored")
	rec, infos, err := backup.RestoreFiles(store.Options{Dir: data, Logger: zerolog.Nop(), EncryptionKey: key}, key, []string{full, inc1, inc2})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 || rec.Records != infos[0].Records+infos[1].Records+infos[2].Records {
		t.Fatalf("restored %+v from %+v", rec, infos)
	}
	if _, err := store.Open(store.Options{Dir: data, Logger: zerolog.Nop(), GCInterval: -1}); err == nil {
		t.Fatal("the restored store opened without its key: it is not encrypted")
	}
	r, err := store.Open(store.Options{Dir: data, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := contents(t, r, d.world, d.clients)
	if len(want) < 400 {
		t.Fatalf("the drill compares only %d records", len(want))
	}
	if bad := diff(got, want); len(bad) > 0 {
		t.Fatalf("the restored store differs from the source at the last backup in %d of %d records: %v", len(bad), len(want), bad[:min(len(bad), 10)])
	}
	if bytes.Equal(r.CursorKey(), d.st.CursorKey()) {
		t.Fatal("the restored store kept the cursor key")
	}
	// Plaintext of the records is in none of the backup files.
	for _, p := range []string{full, inc1, inc2} {
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte("visit 1")) || bytes.Contains(b, []byte("worker 0")) {
			t.Fatalf("%s holds record contents in the clear", p)
		}
	}
}

// Files that verify, but do not make one chain, are refused before a byte
// is loaded; so is a damaged file among good ones, and a wrong key.
func TestRestoreRefusesBadSets(t *testing.T) {
	key, _ := storekey.Generate()
	other, _ := storekey.Generate()
	d := newDrill(t)
	svc, _ := backup.New(backup.Config{Source: d.st, Key: key, Now: d.clock.Now})
	_, admin := d.world.AddUser("Ada", d.world.AreaA, identity.Admin, d.clock.Now())
	d.work(10)
	full, fsum := d.take(svc, admin, 0)
	d.work(10)
	inc1, isum := d.take(svc, admin, fsum.Until+1)
	d.work(10)
	inc2, i2sum := d.take(svc, admin, isum.Until+1)
	d.work(10)
	gap, _ := d.take(svc, admin, i2sum.Until+5) // each take writes an audit entry: versions move on
	foreign := newDrill(t)
	fsvc, _ := backup.New(backup.Config{Source: foreign.st, Key: key, Now: d.clock.Now})
	_, fadmin := foreign.world.AddUser("Ada", foreign.world.AreaA, identity.Admin, d.clock.Now())
	foreign.work(5)
	foreignInc, _ := foreign.take(fsvc, fadmin, fsum.Until+1)
	damaged := filepath.Join(t.TempDir(), "damaged")
	b, _ := os.ReadFile(inc2)
	b[len(b)/2] ^= 1
	os.WriteFile(damaged, b, 0o600)

	for _, tc := range []struct {
		name  string
		files []string
		key   backup.Key
		chain bool
		prob  backup.Problem
	}{
		{"incremental first", []string{inc1}, key, true, 0},
		{"a gap", []string{full, inc1, inc2, gap}, key, true, 0},
		{"out of order", []string{full, inc2, inc1}, key, true, 0},
		{"another store's", []string{full, foreignInc}, key, true, 0},
		{"two fulls", []string{full, full}, key, true, 0},
		{"a damaged file last", []string{full, inc1, damaged}, key, false, backup.Checksum},
		{"the wrong key", []string{full}, other, false, backup.WrongKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			_, _, err := backup.RestoreFiles(store.Options{Dir: data, Logger: zerolog.Nop()}, tc.key, tc.files)
			var chain *backup.ChainError
			if got := errors.As(err, &chain); got != tc.chain || backup.ProblemOf(err) != tc.prob {
				t.Fatalf("err %v; want a chain error %v, problem %v", err, tc.chain, tc.prob)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Fatalf("the refused restore made the data directory (%v)", err)
			}
		})
	}
}
