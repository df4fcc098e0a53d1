package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/store"
)

// SocketName is the socket's name in the data directory.
const SocketName = "operator.sock"

// maxSocketPath is the longest socket path the kernel takes (sun_path
// holds 108 bytes on Linux, with its terminating NUL).
const maxSocketPath = 107

// SocketPath is the socket's path for a data directory.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketName) }

// Config configures the operator channel.
type Config struct {
	// Dir is the data directory the socket is made in (required).
	Dir string
	// Store is the running server's store (required).
	Store store.DirectoryStore
	// Now is the server's clock (default time.Now).
	Now func() time.Time
	// InviteTTL is how long a minted invite stays valid (0: admin's default).
	InviteTTL time.Duration
	// Logger says who minted what, never the code.
	Logger zerolog.Logger
}

// Server serves the operator socket.
type Server struct {
	cfg  Config
	ln   net.Listener
	http *http.Server
	uid  int
}

// Listen creates the socket, owner-only, replacing a stale one (left by a
// server that crashed). A path there that is not a socket, or a socket a
// live process answers on, is left alone and is an error.
func Listen(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Dir == "" {
		return nil, errors.New("operator: a store and a data directory are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	path := SocketPath(cfg.Dir)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("operator socket %s: the path is longer than the %d bytes a socket's may be (use a shorter data directory path)", path, maxSocketPath)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("operator socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, errors.Join(fmt.Errorf("operator socket: %w", err), ln.Close())
	}
	s := &Server{cfg: cfg, ln: ln, uid: os.Geteuid()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin-invite", s.adminInvite)
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, peerKey{}, c) },
	}
	return s, nil
}

// removeStale removes a socket at path that nothing answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("operator socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("operator socket: %s exists and is not a socket; move it away", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		return errors.Join(fmt.Errorf("operator socket: another process serves %s", path), c.Close())
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("operator socket: removing the stale %s: %w", path, err)
	}
	return nil
}

// Path is the socket's path.
func (s *Server) Path() string { return SocketPath(s.cfg.Dir) }

// Serve serves the socket until Close.
func (s *Server) Serve() error {
	if err := s.http.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	err := s.http.Close() // closes the listener, which unlinks the socket
	if rmErr := os.Remove(s.Path()); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
		err = rmErr
	}
	return err
}

type peerKey struct{}

// inviteRequest and inviteResponse are the protocol's bodies.
type inviteRequest struct {
	Area string `json:"area"`
}

type inviteResponse struct {
	Area      string    `json:"area"`
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

type errorResponse struct {
	Error string `json:"error"`
}

func (s *Server) adminInvite(w http.ResponseWriter, r *http.Request) {
	conn, _ := r.Context().Value(peerKey{}).(net.Conn)
	if err := access.Operator(peerUID(conn, s.uid), s.uid); err != nil {
		s.cfg.Logger.Warn().Msg("operator socket: refused a connection from another user")
		writeJSON(w, http.StatusForbidden, errorResponse{err.Error()})
		return
	}
	var req inviteRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorResponse{"the body must be JSON such as {\"area\":\"Southwark\"}"})
		return
	}
	now := s.cfg.Now()
	ttl := s.cfg.InviteTTL
	if ttl <= 0 {
		ttl = admin.DefaultInviteTTL
	}
	code, err := admin.MintAdminInvite(r.Context(), s.cfg.Store, req.Area, now, ttl)
	if err != nil {
		status := http.StatusInternalServerError
		if errkind.Of(err) == errkind.Invalid {
			status = http.StatusBadRequest
		}
		writeJSON(w, status, errorResponse{err.Error()})
		return
	}
	s.cfg.Logger.Info().Str("valid", ttl.String()).Msg("operator socket: admin invite minted")
	writeJSON(w, http.StatusOK, inviteResponse{Area: req.Area, Code: code, ExpiresAt: now.Add(ttl).UTC()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
