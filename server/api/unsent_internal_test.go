package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// goneWriter is the response of a client that went away: every write fails.
type goneWriter struct{ header http.Header }

func (w *goneWriter) Header() http.Header       { return w.header }
func (w *goneWriter) WriteHeader(int)           {}
func (w *goneWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// A refusal the client did not get says so in its log line (the export's
// JSON refusal and the rate limiter's), and only then.
func TestRefusalsLogWhenTheyWereNotSent(t *testing.T) {
	tests := []struct {
		name       string
		w          func() http.ResponseWriter
		wantUnsent bool
	}{
		{"answered", func() http.ResponseWriter { return httptest.NewRecorder() }, false},
		{"client gone", func() http.ResponseWriter { return &goneWriter{header: http.Header{}} }, true},
	}
	for _, tt := range tests {
		t.Run("export/"+tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			ctx := zerolog.New(&buf).WithContext(t.Context())
			exportError(ctx, tt.w(), connect.NewError(connect.CodeNotFound, errors.New("no such export")))
			if got := strings.Contains(buf.String(), `"unsent":true`); got != tt.wantUnsent {
				t.Errorf("unsent logged = %v, want %v; log: %s", got, tt.wantUnsent, buf.String())
			}
		})
		t.Run("rate limit/"+tt.name, func(t *testing.T) {
			l, _ := newTestLimiter(t, RateLimit{Ceremony: limits(1, 1, 1000, 1000, 1000, 1000)})
			h := l.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			var buf bytes.Buffer
			for range 2 { // the second call is refused
				r := httptest.NewRequestWithContext(zerolog.New(&buf).WithContext(t.Context()), http.MethodPost,
					throughcarev1connect.AuthServiceBeginEnrollmentProcedure, nil)
				r.RemoteAddr = "192.0.2.1:1234"
				r.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(tt.w(), r)
			}
			if !strings.Contains(buf.String(), `"code":"resource_exhausted"`) {
				t.Fatalf("the second call was not refused; log: %s", buf.String())
			}
			if got := strings.Contains(buf.String(), `"unsent":true`); got != tt.wantUnsent {
				t.Errorf("unsent logged = %v, want %v; log: %s", got, tt.wantUnsent, buf.String())
			}
		})
	}
}
