package server

import (
	"context"
	stdlog "log"
	"net"
	"net/http"
	"time"

	"github.com/throughcare/throughcare/server/connlimit"
)

// Serve serves the API on ln (HTTP/1.1 and h2c: TLS is terminated in front),
// and sweeps for clients due for purging (see Config.Retention), until ctx
// ends, capping the connections per client address; then it
// withdraws readiness, ends the live streams and drains open requests for
// up to ShutdownTimeout before closing what is left. It does not close the
// store.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	cfg := s.cfg
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // gRPC clients without TLS; terminate TLS in front
	srv := &http.Server{
		Handler:           s.API,
		Protocols:         protocols,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		// No ReadTimeout or WriteTimeout: WriteTimeout would cut Subscribe
		// streams. The API bounds each request body and each response write
		// instead, and unary calls get a server-side deadline; an HTTP/2
		// connection that takes no bytes at all is closed.
		HTTP2:    &http.HTTP2Config{WriteByteTimeout: cfg.WriteTimeout},
		ErrorLog: stdlog.New(s.log.With().Str("component", "http").Logger(), "", 0),
	}
	ln = connlimit.New(ln, cfg.MaxConnsPerIP, s.log.With().Str("component", "connlimit").Logger())
	s.log.Info().Str("addr", ln.Addr().String()).Str("data", cfg.DataDir).Msg("listening")
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	stopSweeps := s.sweepRetention(ctx)
	defer stopSweeps()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	s.log.Info().Msg("shutting down")
	s.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn().Err(err).Msg("drain incomplete; closing connections")
		if err := srv.Close(); err != nil {
			s.log.Warn().Err(err).Msg("closing connections")
		}
	}
	return nil
}

// sweepRetention runs the retention sweep every Config.RetentionEvery until
// the returned function is called, which waits for a sweep under way.
func (s *Server) sweepRetention(ctx context.Context) (stop func()) {
	every := s.cfg.RetentionEvery
	if every <= 0 {
		every = RetentionInterval(s.cfg.Retention)
	}
	ctx, cancel := context.WithCancel(ctx)
	ticker := time.NewTicker(every)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Subject.Run(ctx, ticker.C)
	}()
	return func() {
		cancel()
		ticker.Stop()
		<-done
	}
}
