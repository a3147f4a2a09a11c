package session

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// BenchmarkLoadSave measures one logged-in request: load the session,
// read the login and a usable token (no refresh due), save the session.
// The scs-gob baseline stores the same login with scs alone and its
// default GobCodec, and reads it back with Get.
func BenchmarkLoadSave(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) scs.Store
	}{
		{"memstore", func(*testing.B) scs.Store { return memstore.NewWithCleanupInterval(0) }},
		{"redis", func(b *testing.B) scs.Store {
			addr := os.Getenv("GATEHOUSE_REDIS_ADDR")
			if addr == "" {
				b.Skip("GATEHOUSE_REDIS_ADDR not set: skipping the Redis benchmarks")
			}
			c := redis.NewClient(&redis.Options{Addr: addr})
			b.Cleanup(func() { c.Close() })
			return goredisstore.NewWithPrefix(c, "gh-bench:"+randHex(6)+":")
		}},
	}
	for _, st := range stores {
		b.Run(st.name+"/gatehouse", func(b *testing.B) {
			store := st.open(b)
			clock := newClock()
			prov := newFakeProvider(clock)
			sm := scs.New()
			sm.Store = store
			sm.IdleTimeout = 30 * time.Minute
			m, err := New(Config{SessionManager: sm, Now: clock.Now, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			ctx, _ := sm.Load(context.Background(), "")
			if err := m.SaveLogin(ctx, benchLogin(prov)); err != nil {
				b.Fatal(err)
			}
			cookie, _, _ := sm.Commit(ctx)
			enc, _, _ := m.storeFind(context.Background(), cookie)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ctx, err := sm.Load(context.Background(), cookie)
				if err != nil {
					b.Fatal(err)
				}
				if l, err := m.CurrentLogin(ctx); err != nil || l == nil {
					b.Fatal("not logged in", err)
				}
				if _, err := m.Token(ctx, prov); err != nil {
					b.Fatal(err)
				}
				if _, _, err := sm.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "stored-bytes")
		})
		b.Run(st.name+"/scs-gob", func(b *testing.B) {
			registerGob()
			store := st.open(b)
			clock := newClock()
			prov := newFakeProvider(clock)
			sm := scs.New()
			sm.Store = store
			sm.IdleTimeout = 30 * time.Minute
			l := benchLogin(prov)
			ctx, _ := sm.Load(context.Background(), "")
			sm.Put(ctx, keyLogin, &loginState{ID: "benchmark-login-id-0001", Provider: l.Provider, Identity: l.Identity, Token: l.Token, LoginAt: clock.Now(), Version: 1})
			cookie, _, _ := sm.Commit(ctx)
			enc, _, _ := findCtx(store, cookie)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ctx, err := sm.Load(context.Background(), cookie)
				if err != nil {
					b.Fatal(err)
				}
				if ls, ok := sm.Get(ctx, keyLogin).(*loginState); !ok || ls.Token == nil {
					b.Fatal("not logged in")
				}
				if _, _, err := sm.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "stored-bytes")
		})
	}
}

func benchLogin(p *fakeProvider) *Login {
	return &Login{
		Provider: p.name,
		Identity: provider.Identity{Provider: p.name, Subject: "user-123456", Name: "Ada Lovelace", Email: "ada@example.com",
			Picture: "https://example.com/a.png"},
		Token: p.issue(time.Hour),
	}
}

func findCtx(s scs.Store, key string) ([]byte, bool, error) {
	if c, ok := s.(scs.CtxStore); ok {
		return c.FindCtx(context.Background(), key)
	}
	return s.Find(key)
}
