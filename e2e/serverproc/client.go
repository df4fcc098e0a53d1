package serverproc

import (
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/throughcare/throughcare/client-sdk/passkey/software"
)

// Passkey is a synced software passkey for the server at url (whose
// relying party is localhost, as Start runs it).
func Passkey(url string) *software.Key {
	k := software.New(url)
	k.RPID = "localhost"
	k.Synced = true
	return k
}

// H2C is an HTTP/2 client over plain TCP (the server speaks h2c). Like
// the SDK's own client it has no overall timeout, which would cut the live
// streams every minute (and counted them as failed syncs); pings find a
// dead connection instead.
func H2C() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	t.Protocols = p
	t.MaxIdleConnsPerHost = 100
	t.HTTP2 = &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 10 * time.Second}
	return &http.Client{Transport: t}
}

// Counting is a transport that adds the bytes of every response body, as
// they come off the wire (compressed), to N.
type Counting struct {
	Next http.RoundTripper
	N    *atomic.Int64
}

// RoundTrip sends the request with Next and counts its response body.
func (c *Counting) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.Next.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: c.N}
	}
	return resp, err
}

// CountBody counts into n the bytes read from body.
func CountBody(body io.ReadCloser, n *atomic.Int64) io.ReadCloser {
	return &countingBody{ReadCloser: body, n: n}
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}
