package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Losing the database (a failover, a restart, a full server) is a retry
// later for devices, not an internal error: the store says so with
// ErrUnavailable; a wrong request or the caller's own cancellation is not.
func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", fmt.Errorf("query: %w", &pgconn.PgError{Code: "08006"}), true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"network", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, true},
		{"cut off mid-reply", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"serialization failure (retried here)", &pgconn.PgError{Code: "40001"}, false},
		{"caller cancelled", context.Canceled, false},
		{"caller's deadline", context.DeadlineExceeded, false},
		{"nil", nil, false},
	} {
		if got := unavailable(c.err); got != c.want {
			t.Errorf("%s: unavailable = %v, want %v", c.name, got, c.want)
		}
	}
}
