package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/e2e/serverproc"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// backupRun is one backup the soak took while the load ran.
type backupRun struct {
	at, took       time.Duration // when it started (into the run), how long it took
	since, until   uint64
	bytes, records uint64
	openFiles      int // the server's open files as it ended
	err            error
}

// adminSession is the soak's admin, kept signed in: its access token lasts
// less than a long soak, so each backup renews the session first.
type adminSession struct {
	url  string
	sess *v1.Session
}

func (a *adminSession) client(ctx context.Context) (throughcarev1connect.AdminServiceClient, error) {
	auth := throughcarev1connect.NewAuthServiceClient(serverproc.H2C(), a.url)
	resp, err := auth.Refresh(ctx, &v1.RefreshRequest{RefreshToken: a.sess.GetRefreshToken()})
	if err != nil {
		return nil, fmt.Errorf("renewing the admin's session: %w", err)
	}
	a.sess = resp.GetSession()
	return throughcarev1connect.NewAdminServiceClient(serverproc.H2C(), a.url, connect.WithInterceptors(servertest.BearerToken(a.sess.GetAccessToken()))), nil
}

// backups takes a backup every interval while ctx lasts (a full one first,
// then incremental ones, each following the one before), as the admin,
// the way `throughcare backup` does; the channel gets every run when ctx
// ends. An interval of 0 takes none.
func backups(ctx context.Context, admin *adminSession, srv *serverproc.Server, start time.Time, every time.Duration) <-chan []backupRun {
	out := make(chan []backupRun, 1)
	if every <= 0 {
		out <- nil
		return out
	}
	go func() {
		var runs []backupRun
		var next uint64
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				out <- runs
				return
			case <-t.C:
			}
			began := time.Now()
			r := takeBackup(ctx, admin, next)
			r.at, r.took = began.Sub(start), time.Since(began)
			r.openFiles = openFiles(srv.PID())
			if ctx.Err() != nil && r.err != nil {
				continue // cut off by the end of the soak
			}
			if r.err == nil {
				next = r.until + 1
			}
			runs = append(runs, r)
		}
	}()
	return out
}

// takeBackup streams one backup, checking it arrives whole (its size and
// its checksum as the summary says), and keeps none of it.
func takeBackup(ctx context.Context, admin *adminSession, since uint64) backupRun {
	r := backupRun{since: since}
	c, err := admin.client(ctx)
	if err != nil {
		r.err = err
		return r
	}
	stream, err := c.StreamBackup(ctx, &v1.StreamBackupRequest{Since: since})
	if err != nil {
		r.err = err
		return r
	}
	defer func() { _ = stream.Close() }()
	h := sha256.New()
	var tail []byte // the last 32 bytes: the checksum itself, not hashed
	var sum *v1.BackupSummary
	for stream.Receive() {
		m := stream.Msg()
		tail = append(tail, m.GetData()...)
		if n := len(tail) - sha256.Size; n > 0 {
			h.Write(tail[:n])
			tail = append(tail[:0], tail[n:]...)
		}
		r.bytes += uint64(len(m.GetData()))
		if m.GetSummary() != nil {
			sum = m.GetSummary()
		}
	}
	switch {
	case stream.Err() != nil:
		r.err = stream.Err()
	case sum == nil:
		r.err = errors.New("the stream ended without its summary")
	case sum.GetBytes() != r.bytes || string(h.Sum(nil)) != string(sum.GetSha256()) || string(tail) != string(sum.GetSha256()):
		r.err = errors.New("the backup did not arrive whole")
	default:
		r.until, r.records = sum.GetUntil(), sum.GetRecords()
	}
	return r
}

// openFiles counts the process's open files (-1 if it cannot).
func openFiles(pid int) int {
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

// backupLines describes the backups for the report.
func backupLines(runs []backupRun, every time.Duration) []string {
	if every <= 0 {
		return nil
	}
	lines := []string{fmt.Sprintf("a backup every %s: %d taken (the first full, then incremental)", every, len(runs))}
	for _, r := range runs {
		if r.err != nil {
			lines = append(lines, fmt.Sprintf("backup at %s: failed after %s: %v", serverproc.Clock(r.at), r.took.Round(time.Millisecond), r.err))
			continue
		}
		lines = append(lines, fmt.Sprintf("backup at %s: versions %d–%d, %s MB, %d records, %s; the server had %d files open",
			serverproc.Clock(r.at), r.since, r.until, mbf(r.bytes), r.records, r.took.Round(time.Millisecond), r.openFiles))
	}
	return lines
}

func mbf(n uint64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }
