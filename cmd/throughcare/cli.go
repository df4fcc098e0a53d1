package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// profile is what the CLI keeps between runs beside the device store: the
// software passkey, and the key that encrypts the store. It holds secrets,
// so it is written 0600; the key is never printed.
type profile struct {
	Passkey *software.Key `json:"passkey,omitempty"`
	// StoreKey encrypts the device store (see storeDir).
	StoreKey []byte `json:"store_key,omitempty"`

	// Written by CLIs that synced without the SDK; moved into the device
	// store on first use (see migrate), then dropped.
	SessionJSON json.RawMessage `json:"session,omitempty"`
	Seq         uint64          `json:"seq,omitempty"`
	Cursor      []byte          `json:"cursor,omitempty"`
	LastStamp   uint64          `json:"last_stamp,omitempty"`
}

// cli is a command's view of the server, the profile and its device.
type cli struct {
	server, path string
	origin, rpID string
	out          io.Writer
	errOut       io.Writer // progress
	prof         *profile
	http         *http.Client
	// dev is the profile's device (the SDK's store): the session, the
	// caseload and the changes not yet synced.
	dev *caseload.Device
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
	c := &cli{server: server, path: path, out: out, errOut: os.Stderr, http: &http.Client{Timeout: 2 * time.Minute},
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
	}
	return c, nil
}

// storeDir is the directory of the profile's device store: the profile's
// path without ".json", plus ".device".
func storeDir(profilePath string) string {
	return strings.TrimSuffix(profilePath, ".json") + ".device"
}

// open opens the profile's device store (0700, encrypted with the
// profile's store key, made on first use) and moves an older profile's
// device into it.
func (c *cli) open() error {
	if len(c.prof.StoreKey) == 0 {
		c.prof.StoreKey = make([]byte, 32)
		if _, err := rand.Read(c.prof.StoreKey); err != nil {
			return err
		}
		// Saved before the store exists, so no store outlives its key.
		if err := c.save(); err != nil {
			return err
		}
	}
	dir := storeDir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	dev, err := caseload.Open(caseload.Config{Dir: dir, Key: c.prof.StoreKey, Server: c.server, HTTPClient: c.http})
	if err != nil {
		return fmt.Errorf("the device store %s: %w", dir, err)
	}
	c.dev = dev
	return c.migrate()
}

func (c *cli) close() error {
	if c.dev == nil {
		return nil
	}
	return c.dev.Close()
}

func (c *cli) save() error {
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
	return throughcarev1connect.NewAuthServiceClient(c.http, c.server, connect.WithInterceptors(c.dev.Interceptor()))
}

func (c *cli) adminClient() throughcarev1connect.AdminServiceClient {
	return throughcarev1connect.NewAdminServiceClient(c.http, c.server, connect.WithInterceptors(c.dev.Interceptor()))
}

func (c *cli) signedIn() error {
	if c.dev.DeviceID() == "" {
		return errors.New("not signed in: run 'throughcare enrol --invite CODE' first")
	}
	return nil
}
