package upstreams

import (
	"log/slog"
	"strings"

	"github.com/gatehouse-auth/gatehouse/middleware"
)

// NewAuth is the Gatehouse setup the echo and nethttp examples share: the
// session manager (dev mode on plain-http loopback), the provider from the
// environment (or its fake), a JWT authority, and the middleware.Auth for
// publicURL. On error everything it started is closed again.
func NewAuth(getenv func(string) string, publicURL string, logger *slog.Logger) (*middleware.Auth, *Set, error) {
	public := strings.TrimRight(publicURL, "/")
	sessions, dev, err := Sessions(public, 0, logger)
	if err != nil {
		return nil, nil, err
	}
	set, err := FromEnv(getenv, Options{PublicURL: public, Logger: logger})
	if err != nil {
		_ = sessions.Close()
		return nil, nil, err
	}
	jwt, err := JWT(public)
	if err == nil {
		var auth *middleware.Auth
		auth, err = middleware.New(middleware.Config{
			Providers: set.Providers(),
			Implicit:  set.Implicit(),
			Sessions:  sessions,
			PublicURL: public,
			JWT:       jwt,
			DevMode:   dev,
			Logger:    logger,
		})
		if err == nil {
			return auth, set, nil
		}
	}
	set.Close()
	_ = sessions.Close()
	return nil, nil, err
}
