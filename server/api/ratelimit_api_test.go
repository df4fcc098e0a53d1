package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// newLimitedServer serves the whole server over HTTP/2 with rl.
func newLimitedServer(t *testing.T, rl api.RateLimit, log zerolog.Logger) (string, *http.Client) {
	t.Helper()
	env := servertest.New(t, servertest.Options{Passkeys: true, Log: log, Engine: syncengine.Config{Keepalive: time.Hour},
		Server: func(c *server.Config) { c.RateLimit = rl }})
	return env.URL, env.HTTPClient
}

// withHeader sets a request header on every call.
func withHeader(k, v string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set(k, v)
			return next(ctx, req)
		}
	}))
}

func TestPublicProceduresAreRateLimitedOverTheAPI(t *testing.T) {
	protocols := map[string][]connect.ClientOption{
		"connect":      nil,
		"connect-json": {connect.WithProtoJSON()},
		"grpc":         {connect.WithGRPC()},
		"grpc-web":     {connect.WithGRPCWeb()},
	}
	for name, opts := range protocols {
		t.Run(name, func(t *testing.T) {
			clock := fixture.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			logs := &fixture.Logs{}
			url, hc := newLimitedServer(t, api.RateLimit{Ceremony: api.Limits{Address: api.Limit{Rate: 1, Burst: 3}}, Now: clock.Now}, zerolog.New(logs))
			ctx := context.Background()
			anon := throughcarev1connect.NewAuthServiceClient(hc, url, opts...)
			for i := range 3 {
				if _, err := anon.BeginLogin(ctx, &v1.BeginLoginRequest{}); err != nil {
					t.Fatalf("BeginLogin %d within the burst: %v", i, err)
				}
			}
			_, err := anon.BeginLogin(ctx, &v1.BeginLoginRequest{})
			if connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("BeginLogin past the burst = %v, want resource_exhausted", err)
			}
			var cerr *connect.Error
			if !errors.As(err, &cerr) || cerr.Message() != api.RateLimitedMsg {
				t.Fatalf("refusal message = %v, want %q", err, api.RateLimitedMsg)
			}
			if ra := cerr.Meta().Get("Retry-After"); ra != "1" {
				t.Fatalf("Retry-After = %q, want 1", ra)
			}
			// The same bucket covers every ceremony ...
			if _, err := anon.BeginEnrollment(ctx, &v1.BeginEnrollmentRequest{}); connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("BeginEnrollment past the burst = %v, want resource_exhausted", err)
			}
			// ... but Refresh has its own.
			if _, err := anon.Refresh(ctx, &v1.RefreshRequest{RefreshToken: auth.NewToken(auth.RefreshPrefix)}); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Fatalf("Refresh past the ceremonies' burst = %v, want unauthenticated", err)
			}
			// Authenticated procedures are not limited: a bad token is still
			// just unauthenticated, however often it is tried.
			badSync := throughcarev1connect.NewSyncServiceClient(hc, url, append(opts[:len(opts):len(opts)], withHeader("Authorization", "Bearer tca_nope"))...)
			badAuth := throughcarev1connect.NewAuthServiceClient(hc, url, append(opts[:len(opts):len(opts)], withHeader("Authorization", "Bearer tca_nope"))...)
			for i := range 10 {
				if _, err := badSync.Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1}); connect.CodeOf(err) != connect.CodeUnauthenticated {
					t.Fatalf("Pull %d with a bad token = %v, want unauthenticated", i, err)
				}
				if _, err := badAuth.ListDevices(ctx, &v1.ListDevicesRequest{}); connect.CodeOf(err) != connect.CodeUnauthenticated {
					t.Fatalf("ListDevices %d with a bad token = %v, want unauthenticated", i, err)
				}
			}
			// A second later the bucket holds one more call.
			clock.Advance(time.Second)
			if _, err := anon.BeginLogin(ctx, &v1.BeginLoginRequest{}); err != nil {
				t.Fatalf("BeginLogin after a refill: %v", err)
			}
			if _, err := anon.BeginLogin(ctx, &v1.BeginLoginRequest{}); connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("second BeginLogin after one refill = %v, want resource_exhausted", err)
			}
			// Refusals are logged like any call, without the client address.
			out := logs.String()
			if !strings.Contains(out, `"code":"resource_exhausted","limit":"ceremony_address"`) {
				t.Fatalf("no refusal in the log:\n%s", out)
			}
			if strings.Contains(out, "127.0.0.1") {
				t.Fatalf("the log carries the client address:\n%s", out)
			}
		})
	}
}

func TestTrustedProxyHeaderSeparatesClients(t *testing.T) {
	clock := fixture.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	url, hc := newLimitedServer(t, api.RateLimit{Ceremony: api.Limits{Address: api.Limit{Rate: 1, Burst: 2}}, Now: clock.Now, TrustedProxyHeader: "X-Forwarded-For"}, zerolog.Nop())
	ctx := context.Background()
	client := func(xff string) throughcarev1connect.AuthServiceClient {
		return throughcarev1connect.NewAuthServiceClient(hc, url, withHeader("X-Forwarded-For", xff))
	}
	a, b := client("203.0.113.7"), client("203.0.113.8")
	// A client that forges earlier hops is still counted by the last one.
	forged := client("198.51.100.99, 203.0.113.7")
	for i := range 2 {
		if _, err := a.BeginLogin(ctx, &v1.BeginLoginRequest{}); err != nil {
			t.Fatalf("a, call %d: %v", i, err)
		}
	}
	for name, c := range map[string]throughcarev1connect.AuthServiceClient{"a": a, "forged": forged} {
		if _, err := c.BeginLogin(ctx, &v1.BeginLoginRequest{}); connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Fatalf("%s past a's burst = %v, want resource_exhausted", name, err)
		}
	}
	if _, err := b.BeginLogin(ctx, &v1.BeginLoginRequest{}); err != nil {
		t.Fatalf("b is limited by a's calls: %v", err)
	}
}
