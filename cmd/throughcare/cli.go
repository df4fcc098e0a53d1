package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// profile is what the CLI keeps between runs: the software passkey, the
// session, and the sync state of this "device". It holds secrets, so it is
// written 0600.
type profile struct {
	Passkey     *software.Key   `json:"passkey,omitempty"`
	Session     *v1.Session     `json:"-"`
	SessionJSON json.RawMessage `json:"session,omitempty"`
	Seq         uint64          `json:"seq"`
	Cursor      []byte          `json:"cursor,omitempty"`
	LastStamp   uint64          `json:"last_stamp"`
}

// cli is a command's view of the server and the profile.
type cli struct {
	server, path string
	origin, rpID string
	out          io.Writer
	prof         *profile
	http         *http.Client
}

func newCLI(server, path, origin, rpID string, out io.Writer) (*cli, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not a URL", server)
	}
	if origin == "" {
		origin = u.Scheme + "://" + u.Host
	}
	if rpID == "" {
		rpID = u.Hostname()
	}
	c := &cli{server: server, path: path, out: out, http: &http.Client{Timeout: 2 * time.Minute},
		origin: origin, rpID: rpID, prof: &profile{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, c.prof); err != nil {
			return nil, fmt.Errorf("profile %s: %w", path, err)
		}
		if len(c.prof.SessionJSON) > 0 {
			c.prof.Session = &v1.Session{}
			if err := protojsonUnmarshal(c.prof.SessionJSON, c.prof.Session); err != nil {
				return nil, fmt.Errorf("profile %s: %w", path, err)
			}
		}
	}
	return c, nil
}

func (c *cli) save() error {
	if c.prof.Session != nil {
		b, err := protojsonMarshal(c.prof.Session)
		if err != nil {
			return err
		}
		c.prof.SessionJSON = b
	}
	b, err := json.MarshalIndent(c.prof, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.path)
}

func (c *cli) authClient() throughcarev1connect.AuthServiceClient {
	return throughcarev1connect.NewAuthServiceClient(c.http, c.server, connect.WithInterceptors(c.bearer()))
}

func (c *cli) adminClient() throughcarev1connect.AdminServiceClient {
	return throughcarev1connect.NewAdminServiceClient(c.http, c.server, connect.WithInterceptors(c.bearer()))
}

func (c *cli) syncClient() throughcarev1connect.SyncServiceClient {
	return throughcarev1connect.NewSyncServiceClient(c.http, c.server, connect.WithInterceptors(c.bearer()), connect.WithSendGzip())
}

// bearer sends the session's access token, and when the server answers
// "unauthenticated" refreshes the session once and retries.
func (c *cli) bearer() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if c.prof.Session == nil {
				return next(ctx, req)
			}
			req.Header().Set("Authorization", "Bearer "+c.prof.Session.GetAccessToken())
			resp, err := next(ctx, req)
			if connect.CodeOf(err) != connect.CodeUnauthenticated || req.Spec().Procedure == throughcarev1connect.AuthServiceRefreshProcedure {
				return resp, err
			}
			if rerr := c.refresh(ctx); rerr != nil {
				return resp, err
			}
			req.Header().Set("Authorization", "Bearer "+c.prof.Session.GetAccessToken())
			return next(ctx, req)
		}
	}
}

func (c *cli) refresh(ctx context.Context) error {
	plain := throughcarev1connect.NewAuthServiceClient(c.http, c.server)
	resp, err := plain.Refresh(ctx, &v1.RefreshRequest{RefreshToken: c.prof.Session.GetRefreshToken()})
	if err != nil {
		return fmt.Errorf("the session has ended; run 'throughcare login': %w", err)
	}
	c.prof.Session = resp.GetSession()
	return c.save()
}

func (c *cli) signedIn() error {
	if c.prof.Session == nil {
		return errors.New("not signed in: run 'throughcare enrol --invite CODE' first")
	}
	return nil
}
