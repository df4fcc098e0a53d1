package caseload

import (
	"context"
	"sync"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// refreshServer is an AuthService that rotates refresh tokens the way the
// server does: each token may be presented once.
type refreshServer struct {
	throughcarev1connect.AuthServiceClient
	mu        sync.Mutex
	presented map[string]int
	next      int
	entered   chan struct{} // receives when a call arrives
	release   chan struct{} // the first call answers once this is closed
}

func (s *refreshServer) Refresh(ctx context.Context, req *v1.RefreshRequest) (*v1.RefreshResponse, error) {
	s.mu.Lock()
	s.presented[req.GetRefreshToken()]++
	s.next++
	n := s.next
	s.mu.Unlock()
	s.entered <- struct{}{}
	if n == 1 {
		<-s.release
	}
	return &v1.RefreshResponse{Session: &v1.Session{
		UserId: "u", DeviceId: "d", AccessToken: "tca_" + string(rune('a'+n)), RefreshToken: "tcr_" + string(rune('a'+n)),
	}}, nil
}

// Two syncs that find the access token expired at once (Run's loop and an
// app's Sync, or live mode) must not both present the same refresh token:
// the server takes a second presentation as a stolen token and ends the
// session.
func TestConcurrentRefreshesPresentATokenOnce(t *testing.T) {
	d := memDevice(t)
	if err := d.saveSession(&v1.Session{UserId: "u", DeviceId: "d", AccessToken: "tca_0", RefreshToken: "tcr_0"}); err != nil {
		t.Fatal(err)
	}
	srv := &refreshServer{presented: map[string]int{}, entered: make(chan struct{}, 4), release: make(chan struct{})}
	d.auth = srv

	errs := make(chan error, 2)
	go func() { errs <- d.refresh(t.Context()) }()
	<-srv.entered // the first refresh is on the wire
	go func() { errs <- d.refresh(t.Context()) }()
	// Give the second refresh the chance to go out too (the bug); with the
	// fix it waits for the first, so nothing arrives and the timer only
	// bounds how long the test looks.
	select {
	case <-srv.entered:
	case <-time.After(200 * time.Millisecond):
	}
	close(srv.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("refresh: %v", err)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for tok, n := range srv.presented {
		if n > 1 {
			t.Errorf("refresh token %s presented %d times, want once", tok, n)
		}
	}
	if got := d.session.GetAccessToken(); got == "tca_0" {
		t.Errorf("access token still the expired one")
	}
}
