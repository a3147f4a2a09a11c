// Package redislimit keeps Gatehouse's rate-limit counters in Redis, so
// that several instances of an app share one password, callback and
// login-start limit: it satisfies middleware.RateLimitStore.
//
// Each counter is a fixed window: INCRBY, and PEXPIRE on the count that
// created it, in one Lua script per call (one round trip however many
// keys the request counts under).
package redislimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/middleware"
)

// Config configures a [Store].
type Config struct {
	// Client is the Redis client. Required.
	Client redis.UniversalClient
	// Prefix is put before every counter key. Default
	// "gatehouse:ratelimit:".
	Prefix string
}

// Store is the Redis middleware.RateLimitStore. It is safe for
// concurrent use.
type Store struct {
	c      redis.UniversalClient
	prefix string
}

var _ middleware.RateLimitStore = (*Store)(nil)

// New returns a Store for cfg.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("redislimit: Config.Client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "gatehouse:ratelimit:"
	}
	return &Store{c: cfg.Client, prefix: cfg.Prefix}, nil
}

// countScript adds ARGV[1] to each key (creating it with a PX of
// ARGV[2]; a negative ARGV[1] only lowers an existing count, never below
// zero) and returns count and ms left for each.
var countScript = redis.NewScript(`
local n = tonumber(ARGV[1])
local out = {}
for i, k in ipairs(KEYS) do
  local c
  if n > 0 then
    c = redis.call('INCRBY', k, n)
    if c == n then redis.call('PEXPIRE', k, ARGV[2]) end
  elseif n < 0 then
    c = tonumber(redis.call('GET', k) or '0')
    if c > 0 then c = redis.call('DECRBY', k, math.min(c, -n)) end
  else
    c = tonumber(redis.call('GET', k) or '0')
  end
  local left = redis.call('PTTL', k)
  if left < 0 then
    if c > 0 and left == -1 then redis.call('PEXPIRE', k, ARGV[2]) left = tonumber(ARGV[2]) else left = 0 end
  end
  out[2 * i - 1] = c
  out[2 * i] = left
end
return out`)

// Count implements middleware.RateLimitStore.
func (s *Store) Count(ctx context.Context, window time.Duration, n int64, keys ...string) ([]middleware.RateCount, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.prefix + k
	}
	res, err := countScript.Run(ctx, s.c, full, n, max(window.Milliseconds(), 1)).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 2*len(keys) {
		return nil, fmt.Errorf("redislimit: %d values for %d keys", len(res), len(keys))
	}
	out := make([]middleware.RateCount, len(keys))
	for i := range keys {
		out[i] = middleware.RateCount{Count: res[2*i], Left: time.Duration(res[2*i+1]) * time.Millisecond}
	}
	return out, nil
}
