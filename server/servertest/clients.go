package servertest

import (
	"slices"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// WithToken returns opts and, if token is set, an interceptor sending it.
func WithToken(token string, opts ...connect.ClientOption) []connect.ClientOption {
	opts = slices.Clip(opts)
	if token != "" {
		opts = append(opts, connect.WithInterceptors(BearerToken(token)))
	}
	return opts
}

// SyncClient returns a SyncService client that sends token (empty: none).
func (e *Env) SyncClient(token string, opts ...connect.ClientOption) throughcarev1connect.SyncServiceClient {
	return throughcarev1connect.NewSyncServiceClient(e.HTTPClient, e.URL, WithToken(token, opts...)...)
}

// AuthClient returns an AuthService client that sends token (empty: none).
func (e *Env) AuthClient(token string, opts ...connect.ClientOption) throughcarev1connect.AuthServiceClient {
	return throughcarev1connect.NewAuthServiceClient(e.HTTPClient, e.URL, WithToken(token, opts...)...)
}

// AdminClient returns an AdminService client that sends token (empty: none).
func (e *Env) AdminClient(token string, opts ...connect.ClientOption) throughcarev1connect.AdminServiceClient {
	return throughcarev1connect.NewAdminServiceClient(e.HTTPClient, e.URL, WithToken(token, opts...)...)
}

// ReviewClient returns a ReviewService client that sends token (empty:
// none).
func (e *Env) ReviewClient(token string, opts ...connect.ClientOption) throughcarev1connect.ReviewServiceClient {
	return throughcarev1connect.NewReviewServiceClient(e.HTTPClient, e.URL, WithToken(token, opts...)...)
}
