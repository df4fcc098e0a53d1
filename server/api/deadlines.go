package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// Defaults of Config.ReadBodyTimeout and Config.WriteTimeout.
const (
	DefaultReadBodyTimeout = time.Minute
	DefaultWriteTimeout    = 30 * time.Second
)

// writeChunk is the most one response write carries under one deadline, so
// that WriteTimeout bounds a stall (no progress), not the time a large
// page takes on a slow but live connection.
const writeChunk = 64 << 10

// errStalled reports a response write that did not complete in time: the
// client stopped reading.
var errStalled = errors.New("api: the client stopped reading")

// errAborted reports a response ended by abort.
var errAborted = errors.New("api: the response was ended by the server")

type responseKey struct{}

// withDeadlines bounds every request's body and response in time, with
// deadlines on the connection (http.ResponseController), which work the
// same over HTTP/1.1, HTTP/2 and h2c:
//
//   - the body must have arrived within readBody of the request's headers
//     (a body trickled a byte every few seconds is cut off); requests
//     without a body, and streams once their request has been read, are
//     not bounded;
//   - each response write (up to writeChunk bytes) and flush must complete
//     within write (at least half of it: see deadlineWriter), so a client
//     that stops reading is dropped and the handler, its goroutines and
//     buffers are released. Between the messages of a stream no deadline
//     is armed, so idle streams live on.
//
// Handlers find the response's *deadlineWriter with responseOf, to end it
// at once (abort) when a stream must close while a write is blocked.
func withDeadlines(next http.Handler, readBody, write time.Duration) http.Handler {
	if readBody <= 0 {
		readBody = DefaultReadBodyTimeout
	}
	if write <= 0 {
		write = DefaultWriteTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// ContentLength is 0 for requests without a body (r.Body may be
		// wrapped by then, so it is not compared with http.NoBody); a
		// deadline armed then would, on HTTP/1.1, end the request's
		// context while the server waits for the client's next request.
		if r.ContentLength != 0 {
			if err := rc.SetReadDeadline(time.Now().Add(readBody)); err == nil {
				body := &deadlineBody{ReadCloser: r.Body, rc: rc, timeout: readBody, http1: r.ProtoMajor == 1}
				r.Body = body
				// After the handler the deadline stays (it bounds discarding
				// an unread rest) and the response is no longer ours.
				defer body.once.Do(func() {})
			}
		}
		dw := &deadlineWriter{ResponseWriter: w, rc: rc, timeout: write}
		defer dw.finish()
		next.ServeHTTP(dw, r.WithContext(context.WithValue(r.Context(), responseKey{}, dw)))
	})
}

// responseOf returns the response writer withDeadlines gave the request
// of ctx, or nil.
func responseOf(ctx context.Context) *deadlineWriter {
	w, _ := ctx.Value(responseKey{}).(*deadlineWriter)
	return w
}

// deadlineBody says clearly when a body did not arrive in time, and on
// HTTP/1.1 lifts the connection's read deadline once the body has been
// read (or closed). (On HTTP/2 the deadline is the stream's: once its body
// has ended it does nothing, and it goes with the stream.)
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	http1   bool
	once    sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.lift()
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = connect.NewError(connect.CodeDeadlineExceeded,
			fmt.Errorf("the request body did not arrive within %s; check the connection and try again", b.timeout))
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.ReadCloser.Close() // discarding what is left is still bounded
	b.lift()
	return err
}

func (b *deadlineBody) lift() {
	if b.http1 {
		// It fails only on a connection already closed, which has no
		// later request to spare from the deadline.
		b.once.Do(func() { _ = b.rc.SetReadDeadline(time.Time{}) })
	}
}

// deadlineWriter is the http.ResponseWriter handlers get from
// withDeadlines. A write deadline is armed when a write or flush starts
// and renewed by later ones once less than half of it is left (renewing
// costs the HTTP/2 server a message, so not on every write); streams clear
// it between their messages (idle). A write that makes no progress is thus
// cut off after between half of and the whole timeout.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration

	mu      sync.Mutex
	armed   time.Time // the write deadline in force; zero: none
	aborted bool
	done    bool // the handler returned: the writer must not be used
}

// Write writes p in pieces of at most writeChunk, each under the deadline.
func (w *deadlineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		piece := p[:min(len(p), writeChunk)]
		m, err := w.within(func() (int, error) { return w.ResponseWriter.Write(piece) })
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// FlushError sends what is buffered, under the deadline.
func (w *deadlineWriter) FlushError() error {
	_, err := w.within(func() (int, error) { return 0, w.rc.Flush() })
	return err
}

// Flush is FlushError for http.Flusher, which has no error to return: a
// connection that failed fails the next write or flush too, which reports it.
func (w *deadlineWriter) Flush() { _ = w.FlushError() }

// Unwrap gives http.ResponseController the underlying writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// within runs one write under the write deadline.
func (w *deadlineWriter) within(write func() (int, error)) (int, error) {
	w.mu.Lock()
	if w.aborted {
		w.mu.Unlock()
		return 0, errAborted
	}
	w.renew()
	deadline := w.armed
	w.mu.Unlock()
	n, err := write()
	if err == nil {
		return n, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !time.Now().Before(deadline):
		// A stall may also end the request's context, and so abort it.
		return n, fmt.Errorf("%w: %w", errStalled, err)
	case w.aborted:
		return n, fmt.Errorf("%w: %w", errAborted, err)
	}
	return n, err
}

// renew arms the deadline unless one with at least half the timeout left
// is in force. w.mu is held.
func (w *deadlineWriter) renew() {
	now := time.Now()
	if w.armed.IsZero() || w.armed.Sub(now) < w.timeout/2 {
		w.armed = now.Add(w.timeout)
		w.setDeadline(w.armed)
	}
}

// setDeadline sets the connection's write deadline. net/http's HTTP/2
// writer never fails to; on HTTP/1.1 it fails only once the connection is
// closed, and then the write it was to bound fails by itself, so there is
// nothing to do with its error.
func (w *deadlineWriter) setDeadline(t time.Time) {
	_ = w.rc.SetWriteDeadline(t)
}

// idle clears the deadline: a stream between messages writes nothing, and
// an HTTP/2 deadline fires even then.
func (w *deadlineWriter) idle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.aborted && !w.done && !w.armed.IsZero() {
		w.armed = time.Time{}
		w.setDeadline(time.Time{})
	}
}

// abort ends the response at once: a write under way fails now and later
// ones are refused. The client sees the response cut off. It may be
// called from any goroutine, also after the handler returned or on a nil
// writer (it then does nothing).
func (w *deadlineWriter) abort() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.aborted && !w.done {
		w.aborted = true
		w.setDeadline(time.Unix(1, 0))
	}
}

// finish is called when the handler returns: it makes sure a deadline
// bounds what the server writes after (buffered data, trailers), and stops
// abort from touching a response that is no longer the handler's.
func (w *deadlineWriter) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if !w.aborted {
		w.renew()
	}
}

// closeGrace is how long a message already on its way may take to finish
// once its stream must close (see during).
const closeGrace = time.Second

// during runs send, one message of a stream, and clears the deadline after
// it. If ctx ends while it runs (the session ended, the caseload changed,
// the server shuts down), the send gets closeGrace to finish before the
// response is ended (abort): a stream is not left waiting on a client that
// does not read, but a message already on its way is not cut off, so the
// stream can still end with its typed reason. Its error
// says why the send failed: ctx's cause, or that the client stopped
// reading. On a nil writer (a handler not served through withDeadlines) it
// just sends.
func (w *deadlineWriter) during(ctx context.Context, send func() error) error {
	if w == nil {
		return send()
	}
	var (
		mu       sync.Mutex
		finished bool
		grace    *time.Timer
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			grace = time.AfterFunc(closeGrace, w.abort)
		}
	})
	err := send()
	mu.Lock()
	finished = true
	if grace != nil {
		grace.Stop()
	}
	mu.Unlock()
	stop()
	switch {
	case err == nil:
		w.idle()
		return nil
	case errors.Is(err, errStalled):
		return connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("the client did not read the stream for %s; it was dropped", w.timeout))
	case errors.Is(err, errAborted) && ctx.Err() != nil:
		return context.Cause(ctx)
	}
	return err
}
