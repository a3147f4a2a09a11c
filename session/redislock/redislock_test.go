package redislock_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
	"github.com/gatehouse-auth/gatehouse/session"
	"github.com/gatehouse-auth/gatehouse/session/redislock"
)

var _ session.Locker = (*redislock.Locker)(nil)

func client(t *testing.T) *redis.Client {
	t.Helper()
	addr := servicetest.Env(t, "GATEHOUSE_REDIS_ADDR")
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func newLocker(t *testing.T, c *redis.Client, prefix string, ttl time.Duration) *redislock.Locker {
	t.Helper()
	l, err := redislock.New(redislock.Config{Client: c, Prefix: prefix, TTL: ttl, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "gh-locktest:" + hex.EncodeToString(b) + ":"
}

func TestMutualExclusion(t *testing.T) {
	c := client(t)
	p := prefix()
	a, b := newLocker(t, c, p, time.Second), newLocker(t, c, p, time.Second)
	var inside, max atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(l *redislock.Locker) {
			defer wg.Done()
			unlock, err := l.Lock(context.Background(), "k")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > max.Load() {
				max.Store(n)
			}
			time.Sleep(time.Millisecond) // hold it a moment, so overlaps would show
			inside.Add(-1)
			unlock()
			unlock() // twice is harmless
		}([]*redislock.Locker{a, b}[i%2])
	}
	wg.Wait()
	if max.Load() != 1 {
		t.Fatalf("%d holders at once", max.Load())
	}
	if n, _ := c.Exists(context.Background(), p+"k").Result(); n != 0 {
		t.Fatal("lock key left behind")
	}
}

func TestWaitHonoursContext(t *testing.T) {
	c := client(t)
	l := newLocker(t, c, prefix(), time.Second)
	unlock, err := l.Lock(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

// TestLeaseRenewed: a holder that keeps the lock for 3× the TTL still holds
// it (the lease is renewed), so nobody else gets in meanwhile.
func TestLeaseRenewed(t *testing.T) {
	c := client(t)
	p := prefix()
	ttl := 100 * time.Millisecond
	a, b := newLocker(t, c, p, ttl), newLocker(t, c, p, ttl)
	unlock, err := a.Lock(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*ttl)
	defer cancel()
	if _, err := b.Lock(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second locker got the lock while the first held it: %v", err)
	}
	unlock()
	unlock2, err := b.Lock(context.Background(), "k")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	unlock2()
}

// TestReleaseIsTokenChecked: a holder whose lease expired (it stopped
// renewing) does not release the lock that someone else took since.
func TestReleaseIsTokenChecked(t *testing.T) {
	c := client(t)
	p := prefix()
	l := newLocker(t, c, p, time.Second)
	unlock, err := l.Lock(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	// Simulate the lease running out and another instance taking the lock.
	if err := c.Set(context.Background(), p+"k", "someone-else", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	unlock()
	if v, _ := c.Get(context.Background(), p+"k").Result(); v != "someone-else" {
		t.Fatalf("the other holder's lock was released (value %q)", v)
	}
	c.Del(context.Background(), p+"k")
}

func TestRedisDown(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	l := newLocker(t, c, prefix(), time.Second)
	_, err := l.Lock(context.Background(), "k")
	if err == nil {
		t.Fatal("lock succeeded with Redis down")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := redislock.New(redislock.Config{}); err == nil {
		t.Fatal("nil client accepted")
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := redislock.New(redislock.Config{Client: c, TTL: time.Millisecond}); err == nil {
		t.Fatal("1ms TTL accepted")
	}
}
