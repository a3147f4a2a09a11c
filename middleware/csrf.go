package middleware

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// csrfKey is the session key of the synchroniser token.
const csrfKey = "gatehouse.csrf"

// CSRFToken returns the session's synchroniser token (OWASP CSRF
// Prevention Cheat Sheet), creating it when absent. Forms posting to
// {BasePath}/logout or {BasePath}/token send it as the "csrf_token" field;
// scripts send it as the X-CSRF-Token header. ctx must carry the session
// (inside [Auth.Wrap], Require or Optional).
func (a *Auth) CSRFToken(ctx context.Context) string {
	sm := a.sessions.Sessions()
	if t := sm.GetString(ctx, csrfKey); t != "" {
		return t
	}
	t := provider.NewState()
	sm.Put(ctx, csrfKey, t)
	return t
}

// csrfTokenOK compares the submitted token with the session's in constant
// time. A session without a token never matches.
func (a *Auth) csrfTokenOK(r *http.Request, submitted string) bool {
	if submitted == "" {
		submitted = r.Header.Get("X-CSRF-Token")
	}
	want := a.sessions.Sessions().GetString(r.Context(), csrfKey)
	return want != "" && submitted != "" && subtle.ConstantTimeCompare([]byte(want), []byte(submitted)) == 1
}

// sameOrigin reports whether the browser says the request comes from our
// own origin: Sec-Fetch-Site "same-origin", or, for browsers without Fetch
// Metadata, an Origin equal to PublicURL's origin. Nothing is derived from
// Host or X-Forwarded-* headers.
func (a *Auth) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	return origin != "" && a.publicOrigin != "" && origin == a.publicOrigin
}

// hashKey turns a secret-bearing key (csrf token, username) into an opaque
// limiter key so that the limiter's memory holds no secrets.
func hashKey(prefix, v string) string {
	sum := sha256.Sum256([]byte(v))
	return prefix + hex.EncodeToString(sum[:12])
}

// limiter counts failures per key in fixed windows. It is in-memory and
// per-process; memory is bounded by maxLimiterKeys.
type limiter struct {
	max    int
	window time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	count int
	start time.Time
}

const maxLimiterKeys = 1 << 16

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, buckets: map[string]*bucket{}}
}

// blocked returns how long to wait when any of keys has used up its
// failures, or 0.
func (l *limiter) blocked(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		b := l.buckets[k]
		if b == nil {
			continue
		}
		end := b.start.Add(l.window)
		if !now.Before(end) {
			delete(l.buckets, k)
			continue
		}
		if b.count >= l.max {
			wait = max(wait, end.Sub(now))
		}
	}
	return wait
}

// fail records a failure for each key.
func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		b := l.buckets[k]
		if b == nil || !now.Before(b.start.Add(l.window)) {
			if len(l.buckets) >= maxLimiterKeys {
				l.sweep(now)
			}
			b = &bucket{start: now}
			l.buckets[k] = b
		}
		b.count++
	}
}

func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if !now.Before(b.start.Add(l.window)) {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets { // still full: drop arbitrary entries
		if len(l.buckets) < maxLimiterKeys {
			break
		}
		delete(l.buckets, k)
	}
}
