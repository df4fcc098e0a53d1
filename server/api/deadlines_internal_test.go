package api

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
