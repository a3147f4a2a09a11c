package middleware_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
	"github.com/gatehouse-auth/gatehouse/session/redisindex"
)

// roundTrips counts the commands (and pipelines, each one round trip)
// a go-redis client sends.
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkSessionIndex is issue 15's benchmark: a logged-in cookie
// request through Require on Redis, without the session index (today's
// request, the baseline of the same run) and with it. It reports the
// Redis round trips per request ("roundtrips/op"): with the index the
// session read and its ended-marker check are one MGET, and last seen is
// written at most once a minute per session, in the background.
func BenchmarkSessionIndex(b *testing.B) {
	addr := servicetest.Env(b, "GATEHOUSE_REDIS_ADDR")
	for _, tc := range []struct {
		name  string
		index bool
	}{{"cookie-baseline", false}, {"cookie-index", true}} {
		b.Run(tc.name, func(b *testing.B) {
			rt := &roundTrips{}
			c := redis.NewClient(&redis.Options{Addr: addr})
			c.AddHook(rt)
			b.Cleanup(func() { c.Close() })
			prefix := "gh-bench:" + hexID(6) + ":"
			sm := benchSessions(goredisstore.NewWithPrefix(c, prefix))
			sm.IdleTimeout = 30 * time.Minute
			cfg := session.Config{SessionManager: sm, Logger: discard()}
			if tc.index {
				x, err := redisindex.New(redisindex.Config{Client: c, SessionPrefix: prefix, Prefix: prefix + "idx:"})
				if err != nil {
					b.Fatal(err)
				}
				cfg.Index = x
			}
			mgr, err := session.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { mgr.Close() })
			srv := benchAS(b)
			a, err := middleware.New(middleware.Config{Providers: []provider.Provider{benchAdapter(b, srv)}, Sessions: mgr, PublicURL: benchPublicURL, Logger: discard()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { a.Close() })
			cookie, err := authtest.NewSession(context.Background(), a, benchIdentity(), benchToken(time.Now().Add(24*time.Hour)))
			if err != nil {
				b.Fatal(err)
			}
			h := a.Require(hello)
			// Warm up: the first request records last seen.
			serveOnce(b, h, cookie)
			rt.n.Store(0)
			serve(b, h, func(r *http.Request) { r.AddCookie(cookie) })
			b.StopTimer()
			b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}

func serveOnce(b *testing.B, h http.Handler, c *http.Cookie) {
	r, _ := http.NewRequest(http.MethodGet, "/private", nil)
	r.AddCookie(c)
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	if w.code != 0 && w.code != http.StatusOK {
		b.Fatalf("warm-up request: %d", w.code)
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
