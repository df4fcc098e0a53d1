package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// cmdSAR writes everything the server holds about one client (a subject
// access request; admins) to a zip file. The file is written beside its
// destination and renamed into place only when the whole archive has
// arrived, so an interrupted export leaves no partial archive; it is
// readable by its owner only.
func cmdSAR(ctx context.Context, c *cli, args []string) error {
	client, out := "", ""
	if err := flags("sar", args, c.out, []string{"client", "out"}, map[string]*string{"client": &client, "out": &out}); err != nil {
		return err
	}
	stream, err := c.adminClient().ExportSubject(ctx, &v1.ExportSubjectRequest{ClientId: client})
	if err != nil {
		return err
	}
	// Closing a stream that has ended (or failed, which is reported)
	// loses nothing.
	defer func() { _ = stream.Close() }()
	tmp, err := os.CreateTemp(filepath.Dir(out), ".sar-*.zip")
	if err != nil {
		return err
	}
	n, err := receiveArchive(stream, tmp)
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	fmt.Fprintf(c.out, "wrote %s (%d bytes): everything held about client %s; see summary.md inside\n", out, n, client)
	return nil
}

// receiveArchive writes the stream's chunks to f, syncs and closes it,
// and returns the bytes written.
func receiveArchive(stream *connect.ServerStreamForClient[v1.ExportSubjectResponse], f *os.File) (int, error) {
	n := 0
	for stream.Receive() {
		k, err := f.Write(stream.Msg().GetChunk())
		n += k
		if err != nil {
			return n, errors.Join(err, f.Close())
		}
	}
	err := stream.Err()
	if err == nil && n == 0 {
		err = errors.New("the server sent an empty archive")
	}
	if err == nil {
		err = f.Sync()
	}
	return n, errors.Join(err, f.Close())
}

// cmdRetention shows the area's retention, or sets it (admins): --set
// DURATION (0 keeps closed clients for ever) or --default (the server's
// --retention).
func cmdRetention(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("retention", flag.ContinueOnError)
	fs.SetOutput(c.out)
	set := fs.String("set", "", "keep a client this long after their case was closed, then purge them (Go duration, such as 61320h for 7 years; 0: for ever)")
	def := fs.Bool("default", false, "use the server's --retention")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *set != "" && *def {
		return errors.New("usage: throughcare retention [--set DURATION | --default]")
	}
	if *set == "" && !*def {
		area, err := c.adminClient().GetArea(ctx, &v1.GetAreaRequest{})
		if err != nil {
			return err
		}
		fmt.Fprintln(c.out, retentionLine(area.GetRetention(), area.GetRetentionSet()))
		return nil
	}
	req := &v1.SetRetentionRequest{UseDefault: *def}
	if *set != "" {
		d, err := time.ParseDuration(*set)
		if err != nil || d < 0 {
			return fmt.Errorf("--set must be a duration of 0 or more, such as 61320h")
		}
		req.Retention = durationpb.New(d)
	}
	resp, err := c.adminClient().SetRetention(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, retentionLine(resp.GetRetention(), resp.GetRetentionSet()))
	return nil
}

// retentionLine says an area's retention.
func retentionLine(d *durationpb.Duration, own bool) string {
	whose := "the server's default"
	if own {
		whose = "the area's own"
	}
	if d.AsDuration() <= 0 {
		return "retention: closed clients are kept for ever (" + whose + ")"
	}
	return fmt.Sprintf("retention: closed clients are purged %s (%d days) after their last change (%s)", d.AsDuration(), d.AsDuration()/(24*time.Hour), whose)
}
