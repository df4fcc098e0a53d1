package api_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// stuckSubscribe opens a Subscribe stream (Connect protocol, HTTP/1.1, over
// TLS unless env is plaintext) with a small receive buffer and never reads
// it: a tablet that stopped reading. The connection is closed when the
// test ends.
func stuckSubscribe(tb testing.TB, env *servertest.Env, token string) net.Conn {
	tb.Helper()
	u, err := url.Parse(env.URL)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := net.Dial("tcp", u.Host)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	if err := raw.(*net.TCPConn).SetReadBuffer(4 << 10); err != nil {
		tb.Fatal(err)
	}
	conn := raw
	if u.Scheme == "https" {
		cfg := env.HTTPClient.Transport.(*http.Transport).TLSClientConfig.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		cfg.ServerName = "example.com" // httptest's certificate
		conn = tls.Client(raw, cfg)
	}
	msg, err := proto.Marshal(&v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion})
	if err != nil {
		tb.Fatal(err)
	}
	var body bytes.Buffer
	body.WriteByte(0)
	binary.Write(&body, binary.BigEndian, uint32(len(msg)))
	body.Write(msg)
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/connect+proto\r\n"+
		"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", throughcarev1connect.SyncServiceSubscribeProcedure, u.Host, token, body.Len())
	w.Write(body.Bytes())
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return conn
}

// serverStreams counts the goroutines serving Subscribe streams, and those
// of them blocked writing to their client.
func serverStreams() (open, blocked int) { return serving("syncengine.(*Engine).Subscribe") }

// serving counts the goroutines running frame (a function in their stack),
// and those of them blocked writing to a client.
func serving(frame string) (open, blocked int) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		g, _, _ = bytes.Cut(g, []byte("\ncreated by ")) // its own frames only
		if !bytes.Contains(g, []byte(frame)) {
			continue
		}
		open++
		if bytes.Contains(g, []byte("waitWrite")) || bytes.Contains(g, []byte("writeDataFromHandler")) {
			blocked++
		}
	}
	return open, blocked
}

// smallSendBuffers makes the server's sockets buffer little, so a client
// that stops reading blocks the server's writes after a few kilobytes
// rather than megabytes.
func smallSendBuffers(ln net.Listener) net.Listener { return smallSendListener{ln} }

type smallSendListener struct{ net.Listener }

func (l smallSendListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}
