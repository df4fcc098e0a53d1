package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// fakeSubject serves an archive in chunks for one client (failing after
// the first chunk for another), and keeps a retention.
type fakeSubject struct {
	throughcarev1connect.UnimplementedAdminServiceHandler
	retention *v1.SetRetentionRequest
}

func (f *fakeSubject) ExportSubject(_ context.Context, req *v1.ExportSubjectRequest, s *connect.ServerStream[v1.ExportSubjectResponse]) error {
	switch req.GetClientId() {
	case "c-1":
		for _, part := range []string{"PK-part-one|", "part-two"} {
			if err := s.Send(&v1.ExportSubjectResponse{Chunk: []byte(part)}); err != nil {
				return err
			}
		}
		return nil
	case "c-broken":
		if err := s.Send(&v1.ExportSubjectResponse{Chunk: []byte("PK-half")}); err != nil {
			return err
		}
		return connect.NewError(connect.CodeUnavailable, errors.New("store unavailable"))
	}
	return connect.NewError(connect.CodeNotFound, errors.New("client not found"))
}

func (f *fakeSubject) GetArea(context.Context, *v1.GetAreaRequest) (*v1.GetAreaResponse, error) {
	resp := &v1.GetAreaResponse{Name: "Lambeth", Retention: durationpb.New(0)}
	if f.retention != nil && !f.retention.GetUseDefault() {
		resp.Retention, resp.RetentionSet = f.retention.GetRetention(), true
	}
	return resp, nil
}

func (f *fakeSubject) SetRetention(_ context.Context, req *v1.SetRetentionRequest) (*v1.SetRetentionResponse, error) {
	f.retention = req
	if req.GetUseDefault() {
		return &v1.SetRetentionResponse{Retention: durationpb.New(0)}, nil
	}
	return &v1.SetRetentionResponse{Retention: req.GetRetention(), RetentionSet: true}, nil
}

// sar writes the whole archive, in order, only once it has all arrived:
// a stream that fails leaves no file, and neither does an unknown client.
func TestSARCommand(t *testing.T) {
	f := &fakeSubject{}
	dir := t.TempDir()
	out := filepath.Join(dir, "casey.zip")
	printed, err := runCLIWith(t, f, "sar", "--client", "c-1", "--out", out)
	if err != nil || !strings.Contains(printed, "wrote "+out+" (20 bytes)") {
		t.Fatalf("sar printed %q, %v", printed, err)
	}
	b, err := os.ReadFile(out)
	if err != nil || string(b) != "PK-part-one|part-two" {
		t.Fatalf("archive %q, %v", b, err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("archive mode %v: readable by others", fi.Mode())
	}
	for _, client := range []string{"c-broken", "c-other"} {
		dest := filepath.Join(dir, client+".zip")
		if _, err := runCLIWith(t, f, "sar", "--client", client, "--out", dest); err == nil {
			t.Errorf("sar of %s succeeded", client)
		}
		if _, err := os.Stat(dest); !os.IsNotExist(err) {
			t.Errorf("sar of %s left %s: %v", client, dest, err)
		}
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 {
		t.Errorf("files left in the directory: %v, want only the archive", left)
	}
	if _, err := runCLIWith(t, f, "sar", "--client", "c-1"); err == nil {
		t.Error("sar without --out succeeded")
	}
}

func TestRetentionCommand(t *testing.T) {
	f := &fakeSubject{}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"retention"}, "retention: closed clients are kept for ever (the server's default)\n"},
		{[]string{"retention", "--set", "61320h"}, "retention: closed clients are purged 61320h0m0s (2555 days) after their last change (the area's own)\n"},
		{[]string{"retention"}, "retention: closed clients are purged 61320h0m0s (2555 days) after their last change (the area's own)\n"},
		{[]string{"retention", "--set", "0"}, "retention: closed clients are kept for ever (the area's own)\n"},
		{[]string{"retention", "--default"}, "retention: closed clients are kept for ever (the server's default)\n"},
	}
	for _, tc := range cases {
		got, err := runCLIWith(t, f, tc.args...)
		if err != nil || got != tc.want {
			t.Errorf("%v printed %q, %v; want %q", tc.args, got, err, tc.want)
		}
	}
	if f.retention.GetRetention().AsDuration() != 0 || !f.retention.GetUseDefault() {
		t.Errorf("last request %v, want use_default", f.retention)
	}
	for _, bad := range [][]string{{"retention", "--set", "-1h"}, {"retention", "--set", "7 years"}, {"retention", "--set", "1h", "--default"}} {
		if _, err := runCLIWith(t, f, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
