package redisindex_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
	"github.com/gatehouse-auth/gatehouse/session"
	"github.com/gatehouse-auth/gatehouse/session/redisindex"
)

func key(prefix string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// BenchmarkMemory100k indexes 100,000 sessions (25,000 users with four
// sessions each, every session with its own upstream session id) with
// entries of the size the Manager writes (a 24-character login ID,
// provider, subject, sid, two times, a device, the marker ref and the
// deadline), then sums Redis's MEMORY USAGE over every key the index
// made and reports bytes per indexed session. Run it with
//
//	go test -run '^$' -bench Memory100k ./session/redisindex/
func BenchmarkMemory100k(b *testing.B) {
	addr := servicetest.Env(b, "GATEHOUSE_REDIS_ADDR")
	const sessions, perUser = 100_000, 4
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	prefix := key("gh-mem:") + ":"
	x, err := redisindex.New(redisindex.Config{Client: c, Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, prefix+"*", 1000).Result()
			if err != nil {
				return
			}
			if len(keys) > 0 {
				c.Unlink(ctx, keys...)
			}
			if cursor = next; cursor == 0 {
				return
			}
		}
	}()
	// One measurement per run, whatever b.N: the figure is memory per
	// session, and every round would add another 100,000 sessions.
	if b.N > 1 {
		b.Skip("measures once: run with -benchtime=1x")
	}
	{
		now := time.Now()
		var user string
		for i := range sessions {
			if i%perUser == 0 {
				user = key("u:")
			}
			data := []byte(fmt.Sprintf("\x01%s\x05alpha\x0buser-123456%s%s%s%s\x10Firefox on Linux%s%s",
				key("")[:24], key("")[:22], "\xc8\x01\xd2\x91\xa4\xc3\xfa\x8d\x18", "\xc8\x01\xd2\x91\xa4\xc3\xfa\x8d\x18", "", key("e:"), "\xc8\x01\xd2\x91\xa4\xc3\xfa\x8d\x18"))
			e := session.IndexEntry{Handle: key("")[:24], UserKey: user, SIDKey: key("s:"), Ref: key("e:"),
				Expiry: now.Add(31 * time.Minute), Deadline: now.Add(8 * time.Hour), Data: data}
			if err := x.Put(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		var total, keys int64
		var cursor uint64
		for {
			ks, next, err := c.Scan(ctx, cursor, prefix+"*", 1000).Result()
			if err != nil {
				b.Fatal(err)
			}
			pipe := c.Pipeline()
			cmds := make([]*redis.IntCmd, len(ks))
			for i, k := range ks {
				cmds[i] = pipe.MemoryUsage(ctx, k)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			for _, cmd := range cmds {
				total += cmd.Val()
				keys++
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		b.ReportMetric(float64(total)/sessions, "bytes/session")
		b.ReportMetric(float64(keys), "keys")
		b.StartTimer()
	}
}
