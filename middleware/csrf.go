package middleware

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
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
// scripts send it as the X-CSRF-Token header.
//
// ctx must carry the session: a request context inside [Auth.Wrap]
// (net/http) or echoauth.Sessions (Echo), or inside Require or Optional.
// Without one CSRFToken does not panic: it returns "" and logs, once per
// Auth, an error that names the fix.
func (a *Auth) CSRFToken(ctx context.Context) string {
	if !a.hasSession(ctx, "CSRFToken") {
		return ""
	}
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
//
// Buckets are also kept in a FIFO in creation order, which is expiry order
// (every bucket lives one window). Creating a bucket first drops expired
// buckets from the front of the FIFO and, when the table is still full,
// evicts the oldest bucket, the one closest to its end: each bucket is
// queued and dequeued once, so a new key costs O(1) amortised however full
// the table is, and the most recent clients keep their counts.
type limiter struct {
	max    int
	window time.Duration
	// name, shared and log: with Config.RateLimitStore the counts live
	// there (under name), and these in-memory buckets serve only while
	// it fails.
	name   string
	shared RateLimitStore
	log    *slog.Logger

	mu      sync.Mutex
	buckets map[string]*bucket
	order   []queued // creation order; order[head:] is live
	head    int
	visited int // FIFO entries examined, for tests
}

type bucket struct {
	count int
	start time.Time
}

// queued is a FIFO entry; it is stale when buckets[key] is no longer b.
type queued struct {
	key string
	b   *bucket
}

const maxLimiterKeys = 1 << 16

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, buckets: map[string]*bucket{}}
}

// blocked returns how long to wait when any of keys has used up its
// failures, or 0.
func (l *limiter) blocked(now time.Time, keys ...string) time.Duration {
	if l.shared != nil {
		if wait, ok := l.sharedBlocked(keys); ok {
			return wait
		}
	}
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
	if l.shared != nil {
		if _, ok := l.sharedCount(1, keys); ok {
			return
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.countLocked(now, keys)
}

// countLocked counts one event for each key; l.mu is held.
func (l *limiter) countLocked(now time.Time, keys []string) {
	for _, k := range keys {
		b := l.buckets[k]
		if b == nil || !now.Before(b.start.Add(l.window)) {
			l.makeRoom(now)
			b = &bucket{start: now}
			l.buckets[k] = b
			l.order = append(l.order, queued{key: k, b: b})
		}
		b.count++
	}
}

// makeRoom drops stale and expired entries from the front of the FIFO,
// then evicts the oldest live buckets while the table is full.
func (l *limiter) makeRoom(now time.Time) {
	for l.head < len(l.order) {
		q := l.order[l.head]
		l.visited++
		live := l.buckets[q.key] == q.b
		if live && now.Before(q.b.start.Add(l.window)) && len(l.buckets) < maxLimiterKeys {
			break
		}
		if live {
			delete(l.buckets, q.key)
		}
		l.order[l.head] = queued{}
		l.head++
	}
	// Entries left stale out of order (a clock that stepped back) could
	// pile up behind a live front: rebuild from the live ones, at most
	// once per maxLimiterKeys insertions.
	if len(l.order)-l.head > 2*maxLimiterKeys {
		live := l.order[:0]
		for _, q := range l.order[l.head:] {
			l.visited++
			if l.buckets[q.key] == q.b {
				live = append(live, q)
			}
		}
		clear(l.order[len(live):])
		l.order, l.head = live, 0
	}
	// Reclaim the dequeued prefix once it is at least half the slice:
	// the copy is paid for by the dequeues, so O(1) amortised.
	if l.head > 0 && l.head >= len(l.order)/2 {
		n := copy(l.order, l.order[l.head:])
		clear(l.order[n:])
		l.order, l.head = l.order[:n], 0
	}
}
