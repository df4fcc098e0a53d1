package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A request without a body is not bounded by the body deadline: over
// HTTP/1.1 an armed read deadline would end its context while it runs.
func TestBodylessRequestsOutliveTheBodyDeadline(t *testing.T) {
	const tick = 30 * time.Millisecond
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 5 { // five ticks: far past the body deadline
			time.Sleep(tick)
			if err := r.Context().Err(); err != nil {
				fmt.Fprintf(w, "context ended after %d ticks: %v\n", i, err)
				return
			}
		}
		io.WriteString(w, "ok\n")
	})
	srv := httptest.NewServer(http.MaxBytesHandler(withDeadlines(h, tick/3, time.Minute), 1<<20))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if got := strings.TrimSpace(string(b)); got != "ok" {
		t.Fatal(got)
	}
}

// slowWriter is a response whose writes wait for release, ignoring write
// deadlines (as a write that is slow but progressing does).
type slowWriter struct {
	httptest.ResponseRecorder
	started, release chan struct{}
}

func (s *slowWriter) Write(p []byte) (int, error) {
	if s.started != nil {
		close(s.started)
		s.started = nil
		<-s.release
	}
	return s.ResponseRecorder.Write(p)
}

// A stream that must close while one of its messages is on its way (the
// session ended, the server shuts down) lets that message finish and can
// then still write its typed close: only a write that stays blocked past
// the grace is cut off. Ending the response at once here made streams
// close with a bare HTTP/2 reset instead of their reason.
func TestStreamEndDuringASendKeepsTheClose(t *testing.T) {
	// In a synctest bubble: Wait returns once the end of the stream has
	// reached the writer (every goroutine blocked), and its clock moves
	// only when everything waits, so the grace cannot run out on a slow
	// machine.
	synctest.Test(t, func(t *testing.T) {
		sw := &slowWriter{ResponseRecorder: *httptest.NewRecorder(), started: make(chan struct{}), release: make(chan struct{})}
		started := sw.started
		w := &deadlineWriter{ResponseWriter: sw, rc: http.NewResponseController(sw), timeout: time.Minute}
		ctx, cancel := context.WithCancelCause(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.during(ctx, func() error { _, err := w.Write([]byte("message")); return err }) }()
		<-started
		cancel(errors.New("session ended"))
		synctest.Wait() // a bug aborts the response now
		close(sw.release)
		if err := <-done; err != nil {
			t.Fatalf("the message under way failed: %v", err)
		}
		if _, err := w.Write([]byte("close")); err != nil {
			t.Fatalf("writing the stream's close after it: %v", err)
		}
		if got := sw.Body.String(); got != "messageclose" {
			t.Fatalf("response = %q, want the message and the close", got)
		}
	})
}
