package middleware

import (
	"context"
	"log/slog"
	"time"
)

// RateLimitStore keeps the counters of the password, callback and
// login-start limiters (Config.PasswordRateLimit, CallbackRateLimit,
// LoginRateLimit) in a store every instance shares, so that N instances
// do not allow N times the attempts. Package middleware/redislimit
// implements it on Redis. Implementations must be safe for concurrent
// use.
type RateLimitStore interface {
	// Count adds n (-1, 0 or 1) to the counter of each key, in one round
	// trip. A counter is created by its first count and expires window
	// later (a fixed window). A negative n gives back an attempt that was
	// counted in advance and turned out not to be a failure: it never
	// creates a counter nor takes one below zero. It returns, for each key
	// in order, the count after the addition and how long the counter has
	// left (0 when there is no counter).
	Count(ctx context.Context, window time.Duration, n int64, keys ...string) ([]RateCount, error)
}

// RateCount is one counter as [RateLimitStore.Count] returns it.
type RateCount struct {
	// Count is the number of events in the current window.
	Count int64
	// Left is how long the window has left.
	Left time.Duration
}

// rateLimitStoreTimeout bounds one call to the RateLimitStore.
const rateLimitStoreTimeout = time.Second

// sharedBlocked is limiter.blocked through the shared store; ok is false
// when the store failed (the caller then uses the in-memory counts).
func (l *limiter) sharedBlocked(keys []string) (time.Duration, bool) {
	cs, ok := l.sharedCount(0, keys)
	if !ok {
		return 0, false
	}
	var wait time.Duration
	for _, c := range cs {
		if c.Count >= int64(l.max) && c.Left > 0 {
			wait = max(wait, c.Left)
		}
	}
	return wait, true
}

func (l *limiter) sharedCount(n int64, keys []string) ([]RateCount, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), rateLimitStoreTimeout)
	defer cancel()
	cs, err := l.shared.Count(ctx, l.window, n, l.prefixed(keys)...)
	if err != nil || len(cs) != len(keys) {
		if l.log != nil {
			msg := "wrong number of counts"
			if err != nil {
				msg = err.Error()
			}
			l.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: rate-limit store failed (counting in this process)", slog.String("error", msg))
		}
		return nil, false
	}
	return cs, true
}

// prefixed names keys after the limiter, so the three limiters keep
// separate counters in one store.
func (l *limiter) prefixed(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = l.name + ":" + k
	}
	return out
}

// hit counts one event for each key and returns how long to wait when
// this event is over a key's limit, or 0: blocked and fail in one (one
// round trip with a RateLimitStore). An event over the limit is counted
// too; in a fixed window that changes nothing but the count.
func (l *limiter) hit(now time.Time, keys ...string) time.Duration {
	if l.shared != nil {
		if cs, ok := l.sharedCount(1, keys); ok {
			var wait time.Duration
			for _, c := range cs {
				if c.Count > int64(l.max) {
					wait = max(wait, c.Left, time.Millisecond)
				}
			}
			return wait
		}
	}
	return l.hitLocal(now, keys...)
}

// hitLocal is hit on this process's counters, under one lock so that
// concurrent attempts cannot all pass the check before any is counted.
func (l *limiter) hitLocal(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if b := l.buckets[k]; b != nil && now.Before(b.start.Add(l.window)) && b.count >= l.max {
			wait = max(wait, b.start.Add(l.window).Sub(now))
		}
	}
	if wait > 0 {
		return wait
	}
	l.countLocked(now, keys)
	return 0
}

// refund gives back one event per key that hit counted in advance and
// that turned out not to be a failure (a successful password login, an
// upstream outage).
func (l *limiter) refund(now time.Time, keys ...string) {
	if l.shared != nil {
		if _, ok := l.sharedCount(-1, keys); ok {
			return
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if b := l.buckets[k]; b != nil && now.Before(b.start.Add(l.window)) && b.count > 0 {
			b.count--
		}
	}
}
