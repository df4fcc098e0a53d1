package console

import (
	"net"
	"net/http"
)

// LoopbackRedirect sends a browser that opened the console on a loopback
// IP address (http://127.0.0.1:8080/) to the allowed origin on localhost
// with the same port: passkeys cannot be used on an IP address, and the
// server's default relying party is localhost. Other requests pass to h.
func LoopbackRedirect(h http.Handler, origins []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.Host)
		if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() && r.TLS == nil {
			want := "http://localhost:" + port
			for _, o := range origins {
				if o == want {
					http.Redirect(w, r, want+r.URL.RequestURI(), http.StatusFound)
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}
