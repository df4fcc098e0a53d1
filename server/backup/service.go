package backup

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// Source is what a backup is taken from: the live store (*store.DB).
type Source interface {
	// StoreID names the store.
	StoreID(ctx context.Context) (string, error)
	// Backup writes the store's backup stream from a snapshot, of every
	// version from since on, telling w's AddRecords what it writes.
	Backup(ctx context.Context, w io.Writer, since uint64) (store.BackupResult, error)
	// Directory runs fn in a directory transaction (for the audit entry
	// each backup writes).
	Directory(ctx context.Context, fn func(tx store.DirTx) error) error
}

// ErrNotSupported is what a Source whose backups are not Throughcare's
// returns from Backup: a PostgreSQL store is backed up with PostgreSQL's
// own tools. Take refuses such a source (FailedPrecondition at the API)
// before it checks the key or writes the backup's audit entry.
var ErrNotSupported = errkind.E(errkind.Precondition,
	"this server keeps its data in PostgreSQL, which is backed up with PostgreSQL's own tools (pg_dump, or continuous archiving for point-in-time recovery), not from the server")

// Refuser is a Source that may refuse every backup (ErrNotSupported) and
// says so before one starts.
type Refuser interface {
	// BackupRefused returns the error every Backup returns, or nil.
	BackupRefused() error
}

// Config configures a Service.
type Config struct {
	// Source is the live store (required).
	Source Source
	// Key seals the backups; nil (or a key with no bytes) means the server
	// has no store key, and backups are refused.
	Key Key
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger logs each backup (never its contents).
	Logger zerolog.Logger
	// SendBytes is how many file bytes each send carries at most (default
	// 256 KiB).
	SendBytes int
}

// Service takes backups of the live store for admins.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Source == nil {
		return nil, errors.New("backup: a source is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SendBytes <= 0 {
		cfg.SendBytes = 256 << 10
	}
	return &Service{cfg: cfg}, nil
}

// Progress is how far a backup has come.
type Progress struct {
	// Bytes is the file bytes produced so far.
	Bytes int64
	// Records is the records sealed so far.
	Records uint64
}

// Summary describes a finished backup file.
type Summary struct {
	Header
	Trailer
	// Bytes is the file's size.
	Bytes int64
}

// Send receives the next bytes of the backup file, with the progress so
// far; the bytes are only valid during the call.
type Send func(data []byte, p Progress) error

// Take streams a backup file of every store version from since on (0: the
// whole store) to send, in pieces of at most Config.SendBytes. Only admins
// may take one.
func (s *Service) Take(ctx context.Context, id *identity.Identity, since uint64, send Send) (Summary, error) {
	if err := access.Allow(id, access.TakeBackups); err != nil {
		return Summary{}, err
	}
	if r, ok := s.cfg.Source.(Refuser); ok {
		if err := r.BackupRefused(); err != nil {
			return Summary{}, err
		}
	}
	key := s.cfg.Key
	if key == nil || len(key.Bytes()) == 0 {
		return Summary{}, errkind.E(errkind.Precondition, "this server has no store key, and backups are sealed with it: start it with one")
	}
	storeID, err := s.cfg.Source.StoreID(ctx)
	if err != nil {
		return Summary{}, err
	}
	start := s.cfg.Now()
	// Audited before any byte leaves, as every export of client data is: a
	// backup holds every area's. If the entry cannot be written, no backup.
	entry := audit.Entry(ctx, id, store.AuditTakeBackup, start)
	entry.RecordID = "since " + strconv.FormatUint(since, 10)
	if err := s.cfg.Source.Directory(ctx, func(tx store.DirTx) error { return tx.AppendAudit(entry) }); err != nil {
		return Summary{}, err
	}
	out := &sender{send: send, buf: make([]byte, 0, s.cfg.SendBytes)}
	w, err := NewWriter(out, key, Header{StoreID: storeID, Since: since, CreatedAt: start})
	if err != nil {
		return Summary{}, err
	}
	out.w = w
	res, err := s.cfg.Source.Backup(ctx, w, since)
	if err != nil {
		return Summary{}, err
	}
	t, err := w.Close(res.Until)
	if err == nil {
		err = out.flush()
	}
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Header: Header{StoreID: storeID, Since: since, KeyFingerprint: key.Fingerprint(), CreatedAt: start.UTC()}, Trailer: t, Bytes: w.Written()}
	s.cfg.Logger.Info().Str("user", id.UserID).Uint64("since", since).Uint64("until", t.Until).Uint64("records", t.Records).
		Int64("bytes", sum.Bytes).Dur("took", s.cfg.Now().Sub(start)).Msg("backup taken")
	return sum, nil
}

// sender gathers the file's bytes into pieces for send.
type sender struct {
	send Send
	w    *Writer // for the progress; nil while the header is written
	buf  []byte
	sent int64
}

func (o *sender) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		take := min(len(p), cap(o.buf)-len(o.buf))
		o.buf = append(o.buf, p[:take]...)
		p = p[take:]
		if len(o.buf) == cap(o.buf) {
			if err := o.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (o *sender) flush() error {
	if len(o.buf) == 0 {
		return nil
	}
	o.sent += int64(len(o.buf))
	p := Progress{Bytes: o.sent}
	if o.w != nil {
		p.Records = o.w.Records()
	}
	err := o.send(o.buf, p)
	o.buf = o.buf[:0]
	return err
}
