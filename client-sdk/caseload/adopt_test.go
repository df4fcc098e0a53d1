package caseload

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// An adopted device keeps the session's device, numbers its first change
// far past the high-water mark it was given (so that the server answers
// with its real one), stamps after the last stamp it was given, and keeps
// all of that across a restart.
func TestAdoptNumbersPastTheHighWaterMark(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	open := func() *Device {
		d, err := Open(Config{Dir: dir, Key: key, Server: noServer})
		must(t, err)
		return d
	}
	d := open()
	s := &v1.Session{UserId: newID(), DeviceId: newID(), Role: v1.Role_ROLE_WORKER, AccessToken: "a", RefreshToken: "r"}
	lastStamp := hlc.Pack(time.Now().Add(time.Hour).UnixMilli(), 3) // the other client's clock ran ahead
	must(t, d.Adopt(s, 7, lastStamp))
	if got := d.DeviceID(); got != s.GetDeviceId() {
		t.Fatalf("DeviceID = %s, want the adopted %s", got, s.GetDeviceId())
	}
	c := holdClient(t, d)
	mustLog(t, d, c, contactAt(time.Now()))
	chs := outbox(t, d)
	if got, want := chs[0].GetDeviceSeq(), uint64(7+adoptGap+1); got != want {
		t.Errorf("first change numbered %d, want %d", got, want)
	}
	if got := chs[0].GetStamp().GetTime(); got <= lastStamp {
		t.Errorf("first stamp %d is not after the adopted last stamp %d", got, lastStamp)
	}
	last := chs[len(chs)-1].GetDeviceSeq()
	must(t, d.Close())

	d = open()
	defer d.Close()
	if got := d.DeviceID(); got != s.GetDeviceId() {
		t.Fatalf("after a restart DeviceID = %s, want %s", got, s.GetDeviceId())
	}
	mustLog(t, d, c, contactAt(time.Now()))
	chs = outbox(t, d)
	if got := chs[len(chs)-1].GetDeviceSeq(); got <= last {
		t.Errorf("after a restart the next change is numbered %d, not after %d", got, last)
	}
}

// Adopt refuses a bad session and a store that already holds a device.
func TestAdoptRefuses(t *testing.T) {
	good := &v1.Session{UserId: newID(), DeviceId: newID()}
	for _, tc := range []struct {
		name    string
		prepare func(*Device)
		s       *v1.Session
		hw      uint64
		want    error
	}{
		{"no device id", nil, &v1.Session{UserId: newID()}, 0, ErrInvalid},
		{"no user id", nil, &v1.Session{DeviceId: newID()}, 0, ErrInvalid},
		{"mark out of range", nil, good, 1 << 63, ErrInvalid},
		{"closed", func(d *Device) { d.Close() }, good, 0, ErrClosed},
		{"signed in", func(d *Device) { enrol(t, d) }, good, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := memDevice(t)
			if tc.prepare != nil {
				tc.prepare(d)
			}
			before := d.DeviceID()
			err := d.Adopt(tc.s, tc.hw, 0)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Adopt = %v, want %v", err, tc.want)
			}
			if got := d.DeviceID(); got != before {
				t.Errorf("a refused Adopt changed the device to %q", got)
			}
		})
	}
}

// renewServer is an AdminService that takes only the access token "new",
// and an AuthService that renews the session to it (or, refusing, ends it).
type renewServer struct {
	refuse bool
	mu     sync.Mutex
	seen   []string // the access tokens GetArea was called with
	renews int
	s      *v1.Session
}

func (f *renewServer) serve(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle(throughcarev1connect.NewAdminServiceHandler(adminOf{}, connect.WithInterceptors(f.record())))
	mux.Handle(throughcarev1connect.NewAuthServiceHandler(authOf{f: f}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (f *renewServer) record() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			tok := req.Header().Get("Authorization")
			f.mu.Lock()
			f.seen = append(f.seen, tok)
			f.mu.Unlock()
			if tok != "Bearer new" {
				return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("expired"))
			}
			return next(ctx, req)
		}
	}
}

type adminOf struct {
	throughcarev1connect.UnimplementedAdminServiceHandler
}

func (adminOf) GetArea(context.Context, *v1.GetAreaRequest) (*v1.GetAreaResponse, error) {
	return &v1.GetAreaResponse{Name: "Lambeth"}, nil
}

type authOf struct {
	throughcarev1connect.UnimplementedAuthServiceHandler
	f *renewServer
}

func (o authOf) Refresh(_ context.Context, req *v1.RefreshRequest) (*v1.RefreshResponse, error) {
	a := o.f
	a.mu.Lock()
	defer a.mu.Unlock()
	a.renews++
	if a.refuse || req.GetRefreshToken() != "r1" {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("session ended"))
	}
	s := &v1.Session{UserId: a.s.GetUserId(), DeviceId: a.s.GetDeviceId(), AccessToken: "new", RefreshToken: "r2"}
	return &v1.RefreshResponse{Session: s}, nil
}

// Interceptor sends the device's token, renews the session once when the
// server refuses it and sends the call again with the new one; a session
// that cannot be renewed is ErrSignInRequired.
func TestInterceptorRenewsTheSessionOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		refuse   bool
		wantErr  error
		wantSeen []string
	}{
		{"renewed", false, nil, []string{"Bearer old", "Bearer new", "Bearer new"}},
		{"ended", true, ErrSignInRequired, []string{"Bearer old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &v1.Session{UserId: newID(), DeviceId: newID(), AccessToken: "old", RefreshToken: "r1"}
			f := &renewServer{refuse: tc.refuse, s: s}
			srv := f.serve(t)
			d := memDevice(t, func(c *Config) { c.Server, c.HTTPClient = srv.URL, srv.Client() })
			must(t, d.saveSession(s))
			admin := throughcarev1connect.NewAdminServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(d.Interceptor()))
			for range 2 {
				resp, err := admin.GetArea(t.Context(), &v1.GetAreaRequest{})
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) || !d.Status().SignInRequired {
						t.Fatalf("GetArea = %v (sign-in required %v), want %v", err, d.Status().SignInRequired, tc.wantErr)
					}
					break
				}
				if err != nil || resp.GetName() != "Lambeth" {
					t.Fatalf("GetArea = %v, %v", resp, err)
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.renews != 1 {
				t.Errorf("%d renewals, want 1", f.renews)
			}
			if !slices.Equal(f.seen, tc.wantSeen) {
				t.Errorf("tokens sent %v, want %v", f.seen, tc.wantSeen)
			}
		})
	}
}
