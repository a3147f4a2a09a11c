package upstreams

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an app served in the background on a listener.
type Server struct {
	// URL is the listener's base URL, http://host:port.
	URL string

	srv     *http.Server
	done    chan error
	onClose func() error
	once    sync.Once
	err     error
}

// Serve serves h on ln in the background. Close shuts it down and then
// calls onClose (may be nil).
func Serve(ln net.Listener, h http.Handler, logger *slog.Logger, onClose func() error) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{
		URL:     "http://" + ln.Addr().String(),
		done:    make(chan error, 1),
		onClose: onClose,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)},
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s
}

// Close shuts the server down, waiting up to 5 s for requests in flight,
// then runs onClose. It may be called more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		if s.onClose != nil {
			if cerr := s.onClose(); cerr != nil && err == nil {
				err = cerr
			}
		}
		s.err = err
	})
	return s.err
}

// Closer is an app that must be closed after its server stops.
type Closer interface {
	http.Handler
	Close() error
}

// Start listens on addr, builds the app with build (given the public URL:
// publicURL, or the listener's http URL when empty) and serves it in the
// background. Close on the returned Server stops serving, then closes the
// app. The examples' Start functions are this with their own New.
func Start[A Closer](addr, publicURL string, logger *slog.Logger, build func(publicURL string) (A, error)) (*Server, A, error) {
	var zero A
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, zero, err
	}
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	a, err := build(publicURL)
	if err != nil {
		ln.Close()
		return nil, zero, err
	}
	return Serve(ln, a, logger, a.Close), a, nil
}
