package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLoopbackRedirect(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := LoopbackRedirect(ok, []string{"http://localhost:8080", "https://throughcare.example.org"})
	for _, tc := range []struct {
		host, uri string
		code      int
		location  string
	}{
		{"127.0.0.1:8080", "/?invite=tci_x", http.StatusFound, "http://localhost:8080/?invite=tci_x"},
		{"[::1]:8080", "/", http.StatusFound, "http://localhost:8080/"},
		{"127.0.0.1:9090", "/", http.StatusTeapot, ""}, // no allowed origin on that port
		{"localhost:8080", "/", http.StatusTeapot, ""},
		{"10.0.0.5:8080", "/", http.StatusTeapot, ""},
		{"throughcare.example.org", "/", http.StatusTeapot, ""},
	} {
		r := httptest.NewRequest("GET", tc.uri, nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.code || w.Header().Get("Location") != tc.location {
			t.Errorf("%s%s: %d %q, want %d %q", tc.host, tc.uri, w.Code, w.Header().Get("Location"), tc.code, tc.location)
		}
	}
}
