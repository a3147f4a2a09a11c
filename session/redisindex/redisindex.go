// Package redisindex is Gatehouse's session index on Redis, for apps
// whose scs store is goredisstore: it satisfies session.IndexStore, and
// its [Limiter] keeps the middleware's rate-limit counters in the same
// Redis.
//
// The index lives next to the sessions, on the same client:
//
//   - an entry per logged-in session (a string key, expiring with the
//     session), listed in a sorted set per user and per upstream session
//     id (scored by expiry, pruned on every write);
//   - an ended marker per ended session, until the session's absolute
//     expiry. Reads of a session fetch the session and its marker in one
//     MGET, so checking it costs no extra round trip; writes run a Lua
//     script that writes only when the marker is absent, so a request
//     that loaded the session before it was ended cannot save it back.
//
// Scripts touch keys of two families (goredisstore's and the index's),
// so Redis Cluster is not supported; a single Redis, a replica set with
// Sentinel, or a proxy that keeps all keys on one node are.
package redisindex

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/session"
)

// Config configures an [Index].
type Config struct {
	// Client is the Redis client the app's goredisstore uses. Required.
	Client redis.UniversalClient
	// SessionPrefix is the key prefix the app's goredisstore uses.
	// Default "scs:session:" (goredisstore.New's).
	SessionPrefix string
	// Prefix is put before every key of the index. Default
	// "gatehouse:index:".
	Prefix string
}

// Index is the Redis session.IndexStore. It is safe for concurrent use.
type Index struct {
	c       redis.UniversalClient
	sprefix string
	prefix  string
}

var _ session.IndexStore = (*Index)(nil)

// New returns an Index for cfg.
func New(cfg Config) (*Index, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisindex: Config.Client is required")
	}
	if cfg.SessionPrefix == "" {
		cfg.SessionPrefix = "scs:session:"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "gatehouse:index:"
	}
	return &Index{c: cfg.Client, sprefix: cfg.SessionPrefix, prefix: cfg.Prefix}, nil
}

func (x *Index) k(key string) string { return x.prefix + key }

// Check implements session.IndexStore: store must be a goredisstore that
// writes where this Index reads (same server and database, same
// SessionPrefix). It writes a probe session through the store and reads
// it back directly.
func (x *Index) Check(ctx context.Context, store scs.Store) error {
	s, ok := store.(*goredisstore.RedisStore)
	if !ok {
		return fmt.Errorf("%w: redisindex needs an scs goredisstore, not %T", session.ErrIndexStore, store)
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	probe := "gatehouse-probe-" + hex.EncodeToString(b)
	if err := s.CommitCtx(ctx, probe, []byte(probe), time.Now().Add(time.Minute)); err != nil {
		return fmt.Errorf("redisindex: probe the session store: %w", err)
	}
	defer func() { _ = s.DeleteCtx(context.WithoutCancel(ctx), probe) }()
	got, err := x.c.Get(ctx, x.sprefix+probe).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisindex: probe the session store: %w", err)
	}
	if got != probe {
		return fmt.Errorf("%w: the goredisstore does not write where this index reads (another server or database, or a SessionPrefix other than %q)",
			session.ErrIndexStore, x.sprefix)
	}
	return nil
}

// FindSession implements session.IndexStore: one MGET of the session and
// its marker.
func (x *Index) FindSession(ctx context.Context, key, ref string) ([]byte, bool, error) {
	vs, err := x.c.MGet(ctx, x.sprefix+key, x.k(ref)).Result()
	if err != nil {
		return nil, false, err
	}
	if len(vs) != 2 || vs[1] != nil || vs[0] == nil {
		return nil, false, nil
	}
	s, ok := vs[0].(string)
	if !ok {
		return nil, false, fmt.Errorf("redisindex: unexpected reply %T", vs[0])
	}
	return []byte(s), true, nil
}

// commitScript writes the session unless its marker is set.
// KEYS: session, marker. ARGV: data, ttl ms.
var commitScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl = tonumber(ARGV[2])
if ttl <= 0 then redis.call('DEL', KEYS[1]) return 1 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1`)

// CommitSession implements session.IndexStore.
func (x *Index) CommitSession(ctx context.Context, key, ref string, b []byte, expiry time.Time) error {
	return commitScript.Run(ctx, x.c, []string{x.sprefix + key, x.k(ref)}, b, ttlMillis(expiry)).Err()
}

func ttlMillis(t time.Time) int64 { return time.Until(t).Milliseconds() }

// putScript adds or replaces an entry unless its marker is set.
// KEYS: entry, marker, user list, sid list (may repeat the user list).
// ARGV: data, ttl ms, handle, expiry (unix ms), now (unix ms).
var putScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl = tonumber(ARGV[2])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 3, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[5])
  redis.call('ZADD', KEYS[i], ARGV[4], ARGV[3])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1`)

// Put implements session.IndexStore.
func (x *Index) Put(ctx context.Context, e session.IndexEntry) error {
	keys := []string{x.k("s:" + e.Handle), x.k(e.Ref), x.k(e.UserKey)}
	if e.SIDKey != "" {
		keys = append(keys, x.k(e.SIDKey))
	}
	now := time.Now()
	return putScript.Run(ctx, x.c, keys, e.Data, e.Expiry.Sub(now).Milliseconds(), e.Handle,
		e.Expiry.UnixMilli(), now.UnixMilli()).Err()
}

// listScript returns the live entries of a list (handle, expiry in unix
// ms, data), pruning expired members. KEYS: list. ARGV: now (unix ms),
// entry key prefix.
var listScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local hs = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #hs, 2 do
  local v = redis.call('GET', ARGV[2] .. hs[i])
  if v then
    table.insert(out, hs[i])
    table.insert(out, hs[i + 1])
    table.insert(out, v)
  end
end
return out`)

// List implements session.IndexStore (one round trip).
func (x *Index) List(ctx context.Context, key string) ([]session.IndexEntry, error) {
	res, err := listScript.Run(ctx, x.c, []string{x.k(key)}, time.Now().UnixMilli(), x.k("s:")).Slice()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]session.IndexEntry, 0, len(res)/3)
	for i := 0; i+2 < len(res); i += 3 {
		h, _ := res[i].(string)
		score, _ := res[i+1].(string)
		v, _ := res[i+2].(string)
		ms, err := strconv.ParseInt(score, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, session.IndexEntry{Handle: h, Expiry: time.UnixMilli(ms), Data: []byte(v)})
	}
	return out, nil
}

// endScript sets the marker and removes the entry.
// KEYS: marker, entry, user list, sid list (optional). ARGV: marker ttl
// ms, handle.
var endScript = redis.NewScript(`
local ttl = tonumber(ARGV[1])
if ttl < 1000 then ttl = 1000 end
local cur = redis.call('PTTL', KEYS[1])
if cur < ttl then redis.call('SET', KEYS[1], '1', 'PX', ttl) end
redis.call('DEL', KEYS[2])
for i = 3, #KEYS do redis.call('ZREM', KEYS[i], ARGV[2]) end
return 1`)

// End implements session.IndexStore.
func (x *Index) End(ctx context.Context, e session.IndexEntry) error {
	keys := []string{x.k(e.Ref), x.k("s:" + e.Handle)}
	if e.UserKey != "" {
		keys = append(keys, x.k(e.UserKey))
	}
	if e.SIDKey != "" {
		keys = append(keys, x.k(e.SIDKey))
	}
	return endScript.Run(ctx, x.c, keys, ttlMillis(e.Deadline), e.Handle).Err()
}

// Forget implements session.IndexStore (DEL).
func (x *Index) Forget(ctx context.Context, key string) error {
	return x.c.Del(ctx, x.k(key)).Err()
}

// Once implements session.IndexStore (SET NX PX).
func (x *Index) Once(ctx context.Context, key string, expiry time.Time) (bool, error) {
	ttl := max(time.Until(expiry), time.Millisecond)
	ok, err := x.c.SetNX(ctx, x.k(key), "1", ttl).Result()
	if err != nil {
		return false, err
	}
	return ok, nil
}
