// Package redislock is a Redis lock for Gatehouse's session refreshes
// across several instances: it satisfies session.Locker.
//
// A lock is a key set with SET NX PX to a random token. It is released
// only by its holder (a Lua script compares the token before DEL) and its
// lease is renewed (token-checked PEXPIRE) every TTL/3 while it is held,
// so a slow refresh keeps it however long it takes (the lesson of
// oauth2-proxy PR #3456) and a crashed holder loses it after TTL. Waiting
// polls with jittered exponential backoff and ends with ctx.
//
// This is the only Gatehouse package that imports a Redis client.
package redislock

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config configures a [Locker].
type Config struct {
	// Client is the Redis client. Required.
	Client redis.UniversalClient
	// Prefix is put before every lock key. Default "gatehouse:lock:".
	Prefix string
	// TTL is the lease: how long a lock outlives a holder that stopped
	// renewing it (crashed). It is renewed every TTL/3 while held.
	// Default 10s; at least 30ms.
	TTL time.Duration
	// RetryMin and RetryMax bound the polling interval while waiting
	// (doubling, with jitter). Defaults 5ms and 200ms.
	RetryMin, RetryMax time.Duration
	// Logger receives lost-lease warnings. Default slog.Default().
	Logger *slog.Logger
}

// Locker is a Redis lock. It is safe for concurrent use.
type Locker struct {
	cfg Config
	log *slog.Logger
}

// ErrNotHeld is reported (logged) when a lease could not be renewed
// because the lock is no longer ours.
var ErrNotHeld = errors.New("redislock: lock not held")

// New returns a Locker for cfg.
func New(cfg Config) (*Locker, error) {
	if cfg.Client == nil {
		return nil, errors.New("redislock: Config.Client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "gatehouse:lock:"
	}
	if cfg.TTL == 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.TTL < 30*time.Millisecond {
		return nil, errors.New("redislock: TTL must be at least 30ms")
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 5 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 200 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = cfg.RetryMin
	}
	l := &Locker{cfg: cfg, log: cfg.Logger}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l, nil
}

var (
	releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`)
	renewScript   = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`)
)

// Lock blocks until the lock for key is held or ctx ends. The returned
// unlock releases it (only if it is still ours) and stops the lease
// renewal; calling it more than once is harmless. A Redis failure is
// returned as an error (the caller decides whether to go on without the
// lock); ctx ending returns ctx.Err().
func (l *Locker) Lock(ctx context.Context, key string) (func(), error) {
	tokb := make([]byte, 18)
	if _, err := rand.Read(tokb); err != nil {
		return nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(tokb)
	k := l.cfg.Prefix + key
	wait := l.cfg.RetryMin
	for {
		ok, err := l.cfg.Client.SetNX(ctx, k, tok, l.cfg.TTL).Result()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("redislock: acquire: %w", err)
		}
		if ok {
			return l.hold(k, tok), nil
		}
		d := wait/2 + mrand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, l.cfg.RetryMax)
	}
}

// hold starts the lease renewal and returns the unlock function.
func (l *Locker) hold(k, tok string) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		every := l.cfg.TTL / 3
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), every)
				n, err := renewScript.Run(ctx, l.cfg.Client, []string{k}, tok, l.cfg.TTL.Milliseconds()).Int()
				cancel()
				if err == nil && n == 0 {
					err = ErrNotHeld
				}
				if errors.Is(err, ErrNotHeld) {
					l.log.LogAttrs(context.Background(), slog.LevelWarn, "redislock: lease lost", slog.String("error", err.Error()))
					return
				}
				if err != nil { // transient: try again next tick while the lease lasts
					l.log.LogAttrs(context.Background(), slog.LevelWarn, "redislock: lease renewal failed", slog.String("error", err.Error()))
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			ctx, cancel := context.WithTimeout(context.Background(), l.cfg.TTL)
			defer cancel()
			if err := releaseScript.Run(ctx, l.cfg.Client, []string{k}, tok).Err(); err != nil {
				l.log.LogAttrs(ctx, slog.LevelWarn, "redislock: release failed (the lease will expire)", slog.String("error", err.Error()))
			}
		})
	}
}
