package e2e

// faultProxy sits between SDK devices and the server and breaks the
// network the way the field does: it cuts requests before they reach the
// server, cuts responses after the server acted (the answer is lost),
// sends requests twice, and delays them. Faults are drawn from a seeded
// source so a failing schedule can be replayed.

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Faults are the probabilities of each fault per request (0 to 1).
type Faults struct {
	DropRequest  float64 // the request never reaches the server
	DropResponse float64 // the server acts; the answer is lost
	Duplicate    float64 // the request reaches the server twice
	Delay        float64 // the request waits up to MaxDelay first
	MaxDelay     time.Duration
	// CutStream is the chance a stream (Subscribe) is cut after each message.
	CutStream float64
}

type faultProxy struct {
	URL string

	mu     sync.Mutex
	rng    *rand.Rand
	faults Faults
	counts map[string]int
	srv    *http.Server
	target *url.URL
	rp     *httputil.ReverseProxy
	client *http.Client
}

// newFaultProxy proxies to target (h2c) on a loopback port until the test
// ends.
func newFaultProxy(t *testing.T, target string, seed uint64) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{rng: rand.New(rand.NewPCG(seed, seed+1)), counts: map[string]int{}, target: u, client: h2cClient()}
	p.client.Timeout = 0
	p.rp = &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport:     p.client.Transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			panic(http.ErrAbortHandler)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	p.srv = &http.Server{Handler: p, Protocols: protocols, ErrorLog: nil}
	go p.srv.Serve(ln)
	p.URL = "http://" + ln.Addr().String()
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// Set changes the faults from now on.
func (p *faultProxy) Set(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
}

// Counts says how many of each fault happened.
func (p *faultProxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

func (p *faultProxy) roll(kind string, prob float64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if prob > 0 && p.rng.Float64() < prob {
		p.counts[kind]++
		return true
	}
	return false
}

func (p *faultProxy) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.faults.MaxDelay <= 0 {
		return 0
	}
	return time.Duration(p.rng.Int64N(int64(p.faults.MaxDelay)))
}

func (p *faultProxy) current() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := p.current()
	if p.roll("delay", f.Delay) {
		select {
		case <-time.After(p.delay()):
		case <-r.Context().Done():
			return
		}
	}
	if p.roll("drop_request", f.DropRequest) {
		panic(http.ErrAbortHandler) // reset the stream: the client sees a network error
	}
	if strings.HasSuffix(r.URL.Path, "/Subscribe") {
		p.rp.ServeHTTP(&cuttingWriter{ResponseWriter: w, cut: func() bool { return p.roll("cut_stream", f.CutStream) }}, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if p.roll("duplicate", f.Duplicate) {
		// The first copy's answer is thrown away, as if a retry crossed it.
		if resp, err := p.forward(r, body); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	resp, err := p.forward(r, body)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if p.roll("drop_response", f.DropResponse) {
		panic(http.ErrAbortHandler) // the server acted; the device never hears
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	for k := range resp.Trailer {
		w.Header().Add("Trailer", k)
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(payload)
	for k, vs := range resp.Trailer {
		w.Header()[k] = vs
	}
}

func (p *faultProxy) forward(r *http.Request, body []byte) (*http.Response, error) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target.String()+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	resp, err := p.client.Do(out)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return resp, nil
}

// cuttingWriter cuts a stream after a write when told to.
type cuttingWriter struct {
	http.ResponseWriter
	cut func() bool
}

func (c *cuttingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	if err == nil && c.cut() {
		panic(http.ErrAbortHandler)
	}
	return n, err
}

func (c *cuttingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
