package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/backup"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// fetchBackup calls StreamBackup and returns the file, its summary and the
// progress of each message.
func fetchBackup(t *testing.T, env *servertest.Env, token string, since uint64) ([]byte, *v1.BackupSummary, []uint64, error) {
	t.Helper()
	s, err := env.AdminClient(token).StreamBackup(context.Background(), &v1.StreamBackupRequest{Since: since})
	if err != nil {
		return nil, nil, nil, err
	}
	var file []byte
	var sum *v1.BackupSummary
	var progress []uint64
	for s.Receive() {
		m := s.Msg()
		if sum != nil {
			t.Fatal("a message after the summary")
		}
		file = append(file, m.GetData()...)
		if m.GetBytesSent() != uint64(len(file)) {
			t.Fatalf("bytes_sent %d, received %d", m.GetBytesSent(), len(file))
		}
		progress = append(progress, m.GetRecords())
		sum = m.GetSummary()
	}
	return file, sum, progress, s.Err()
}

func TestStreamBackup(t *testing.T) {
	key, err := storekey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	clock := fixture.NewClock(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC))
	env := servertest.New(t, servertest.Options{Now: clock.Now, Server: func(c *server.Config) { c.BackupKey = key }})
	world := fixture.NewWorld(t, env.Store)
	// A name long enough that ciphertext cannot contain it by chance (a
	// three-letter one turns up in about 1 backup in 100).
	const planted = "Ada Quillfeather-Wrenbury"
	_, admin := world.AddUser(planted, world.AreaA, identity.Admin, clock.Now())
	_, sup := world.AddUser("Sam", world.AreaA, identity.Supervisor, clock.Now(), world.TeamA1)
	_, worker := world.AddUser("Wyn", world.AreaA, identity.Worker, clock.Now(), world.TeamA1)
	env.SignIn("admin", *admin)
	env.SignIn("sup", *sup)
	env.SignIn("worker", *worker)
	for i := range 1000 { // enough for more than one message
		world.AddUser(string(rune('a'+i%26))+"-user", world.AreaA, identity.Worker, clock.Now(), world.TeamA1)
	}

	for _, tok := range []string{"sup", "worker"} {
		if _, _, _, err := fetchBackup(t, env, tok, 0); connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Fatalf("%s took a backup: %v", tok, err)
		}
	}
	file, sum, progress, err := fetchBackup(t, env, "admin", 0)
	if err != nil {
		t.Fatal(err)
	}
	info, err := backup.Verify(bytes.NewReader(file), key)
	if err != nil {
		t.Fatalf("the streamed file does not verify: %v", err)
	}
	want := sha256.Sum256(file[:len(file)-32])
	if sum == nil || sum.GetRecords() != info.Records || sum.GetUntil() != info.Until || sum.GetBytes() != uint64(len(file)) ||
		!bytes.Equal(sum.GetSha256(), want[:]) || sum.GetKeyFingerprint() != key.Fingerprint() || sum.GetStoreId() != info.StoreID ||
		!sum.GetCreatedAt().AsTime().Equal(clock.Now()) || sum.GetSince() != 0 {
		t.Fatalf("summary %v, file %+v", sum, info)
	}
	if len(progress) < 3 || progress[len(progress)-1] != info.Records {
		t.Fatalf("progress %v over %d bytes; want several messages, ending at %d records", progress, len(file), info.Records)
	}
	if bytes.Contains(file, []byte(planted)) {
		t.Fatal("a display name is in the backup file in the clear")
	}

	// An incremental backup from the full one's end holds what came after.
	world.AddUser("Late", world.AreaA, identity.Worker, clock.Now(), world.TeamA1)
	inc, isum, _, err := fetchBackup(t, env, "admin", sum.GetUntil()+1)
	if err != nil {
		t.Fatal(err)
	}
	if isum.GetSince() != sum.GetUntil()+1 || isum.GetRecords() == 0 || isum.GetRecords() >= sum.GetRecords() {
		t.Fatalf("incremental %v after %v", isum, sum)
	}
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "full"), filepath.Join(dir, "inc")}
	for i, b := range [][]byte{file, inc} {
		if err := os.WriteFile(paths[i], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	if _, _, err := backup.RestoreFiles(store.Options{Dir: data, Logger: zerolog.Nop()}, key, paths); err != nil {
		t.Fatal(err)
	}
	r, err := store.Open(store.Options{Dir: data, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n int
	if err := r.DirectoryView(context.Background(), func(tx store.DirTx) error {
		n = len(tx.UsersOfArea(world.AreaA))
		return nil
	}); err != nil || n != 1004 {
		t.Fatalf("the restored store has %d users of the area (%v), want 1004", n, err)
	}
}

// A server without a store key refuses backups, saying why.
func TestStreamBackupNeedsAKey(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	world := fixture.NewWorld(t, env.Store)
	_, admin := world.AddUser("Ada", world.AreaA, identity.Admin, time.Now())
	env.SignIn("admin", *admin)
	if _, _, _, err := fetchBackup(t, env, "admin", 0); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("a backup without a key: %v, want FailedPrecondition", err)
	}
}
