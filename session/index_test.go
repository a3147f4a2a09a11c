package session_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
	"github.com/gatehouse-auth/gatehouse/provider"
	. "github.com/gatehouse-auth/gatehouse/session"
	"github.com/gatehouse-auth/gatehouse/session/pgindex"
	"github.com/gatehouse-auth/gatehouse/session/redisindex"
)

// randHex and sharedPerTest are the internal tests' helpers.
var (
	randHex       = RandHexForTest
	sharedPerTest = SharedPerTestForTest
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is one instance: a Manager over the test's shared store and index.
type env struct {
	t  testing.TB
	m  *Manager
	sm *scs.SessionManager
}

func (e *env) request(token string) context.Context {
	e.t.Helper()
	return LoadSessionForTest(e.t, e.sm, token)
}

func (e *env) commit(ctx context.Context) string {
	e.t.Helper()
	return CommitSessionForTest(e.t, e.sm, ctx)
}

func (e *env) storeHas(key string) bool {
	e.t.Helper()
	_, found, err := e.sm.Store.(scs.CtxStore).FindCtx(context.Background(), key)
	if err != nil {
		e.t.Fatalf("store find: %v", err)
	}
	return found
}

const provName = "fake"

// indexCase is a store with the index made for it. open returns the same
// store and index within one test, so several Managers (instances) share
// them.
type indexCase struct {
	name string
	open func(t testing.TB) (scs.Store, redis.UniversalClient, IndexStore)
	// raw returns every value the index itself keeps (entries, lists,
	// markers), for the no-secrets check.
	raw func(t testing.TB) []string
}

func pgPool(t testing.TB) *pgxpool.Pool {
	dsn := servicetest.Env(t, "GATEHOUSE_POSTGRES_DSN")
	return sharedPerTest(t, "pg-pool", func() any {
		pool, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}).(*pgxpool.Pool)
}

func indexCases() []indexCase {
	return []indexCase{
		{name: "memstore", open: func(t testing.TB) (scs.Store, redis.UniversalClient, IndexStore) {
			s := sharedPerTest(t, "mem", func() any { return memstore.NewWithCleanupInterval(0) }).(scs.Store)
			x := sharedPerTest(t, "mem-index", func() any { return NewMemIndex() }).(*MemIndex)
			return s, nil, x
		}, raw: func(t testing.TB) []string {
			return sharedPerTest(t, "mem-index", func() any { return NewMemIndex() }).(*MemIndex).DumpForTest()
		}},
		{name: "redis", open: func(t testing.TB) (scs.Store, redis.UniversalClient, IndexStore) {
			addr := servicetest.Env(t, "GATEHOUSE_REDIS_ADDR")
			c := sharedPerTest(t, "redis", func() any {
				c := redis.NewClient(&redis.Options{Addr: addr})
				t.Cleanup(func() { c.Close() })
				return c
			}).(*redis.Client)
			prefix := sharedPerTest(t, "redis-prefix", func() any { return "gh-test:" + randHex(8) + ":" }).(string)
			x, err := redisindex.New(redisindex.Config{Client: c, SessionPrefix: prefix, Prefix: prefix + "idx:"})
			if err != nil {
				t.Fatal(err)
			}
			return goredisstore.NewWithPrefix(c, prefix), c, x
		}, raw: func(t testing.TB) []string {
			c := sharedPerTest(t, "redis", func() any { t.Fatal("no redis"); return nil }).(*redis.Client)
			prefix := sharedPerTest(t, "redis-prefix", func() any { t.Fatal("no prefix"); return nil }).(string)
			ctx := context.Background()
			keys, err := c.Keys(ctx, prefix+"idx:*").Result()
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, k := range keys {
				out = append(out, k)
				switch c.Type(ctx, k).Val() {
				case "string":
					out = append(out, c.Get(ctx, k).Val())
				case "zset":
					out = append(out, c.ZRange(ctx, k, 0, -1).Val()...)
				}
				if ttl := c.PTTL(ctx, k).Val(); ttl <= 0 {
					t.Errorf("index key %s has no expiry (PTTL %v)", k, ttl)
				}
			}
			return out
		}},
		{name: "postgres", open: func(t testing.TB) (scs.Store, redis.UniversalClient, IndexStore) {
			pool := pgPool(t)
			x := sharedPerTest(t, "pg-index", func() any {
				x, err := pgindex.New(context.Background(), pgindex.Config{Pool: pool, CleanupInterval: -1})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { x.Close() })
				return x
			}).(*pgindex.Index)
			return sharedPerTest(t, "pg", func() any { return pgxstore.NewWithCleanupInterval(pool, 0) }).(scs.Store), nil, x
		}, raw: func(t testing.TB) []string {
			pool := pgPool(t)
			rows, err := pool.Query(context.Background(), "SELECT handle, user_key, COALESCE(sid_key, ''), ref, encode(data, 'escape') FROM gatehouse_session_index")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var a, b, c, d, e string
				if err := rows.Scan(&a, &b, &c, &d, &e); err != nil {
					t.Fatal(err)
				}
				out = append(out, a, b, c, d, e)
			}
			return out
		}},
	}
}

// newIndexEnv is a Manager (one instance, with its own scs manager and
// in-process state) over the case's shared store and index.
func newIndexEnv(t testing.TB, ic indexCase) *env {
	t.Helper()
	store, _, x := ic.open(t)
	sm := scs.New()
	sm.Store = store
	sm.Lifetime = time.Hour
	sm.IdleTimeout = 30 * time.Minute
	locker := sharedPerTest(t, "locker", func() any { return NewLocalLocker() }).(Locker)
	m, err := New(Config{SessionManager: sm, Index: x, Locker: locker, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &env{t: t, m: m, sm: sm}
}

// loginAs logs a new session in as subject with upstream session sid.
func (e *env) loginAs(subject, sid, device string) (cookie, id string, tok *provider.Token) {
	e.t.Helper()
	ctx := e.request("")
	tok = &provider.Token{AccessToken: "AT-" + randHex(8), RefreshToken: "RT-" + randHex(8), Expiry: time.Now().Add(time.Hour)}
	l := &Login{Provider: provName, Identity: provider.Identity{Provider: provName, Subject: subject, SessionID: sid}, Token: tok, Device: device}
	if err := e.m.SaveLogin(ctx, l); err != nil {
		e.t.Fatalf("SaveLogin: %v", err)
	}
	return e.commit(ctx), l.ID, tok
}

// who is the subject a request with cookie sees on e ("" anonymous).
func (e *env) who(cookie string) string {
	e.t.Helper()
	ctx := e.request(cookie)
	l, err := e.m.CurrentLogin(ctx)
	if err != nil {
		e.t.Fatalf("CurrentLogin: %v", err)
	}
	if l == nil {
		return ""
	}
	return l.Identity.Subject
}

func TestIndex(t *testing.T) {
	t.Parallel()
	for _, ic := range indexCases() {
		t.Run(ic.name, func(t *testing.T) {
			t.Parallel()
			t.Run("ListEndOneEndAll", func(t *testing.T) {
				t.Parallel()
				inst := []*env{newIndexEnv(t, ic), newIndexEnv(t, ic), newIndexEnv(t, ic)}
				var cookies, ids []string
				for i, e := range inst {
					c, id, _ := e.loginAs("alice", "op-sid-"+string(rune('a'+i)), "Firefox on Linux")
					cookies, ids = append(cookies, c), append(ids, id)
				}
				bobCookie, _, _ := inst[0].loginAs("bob", "", "")

				// Given three sessions of alice on three instances, when
				// instance B lists them from alice's second session,
				// then it sees all three and marks its own.
				ctx := inst[1].request(cookies[1])
				list, err := inst[1].m.ListSessions(ctx, Selector{Provider: provName, Subject: "alice"})
				if err != nil {
					t.Fatal(err)
				}
				if len(list) != 3 {
					t.Fatalf("listed %d sessions, want 3: %+v", len(list), list)
				}
				current := 0
				for _, s := range list {
					if s.Current {
						current++
						if s.Handle != inst[1].m.CurrentHandle(ctx) {
							t.Errorf("Current marks %s, want %s", s.Handle, inst[1].m.CurrentHandle(ctx))
						}
					}
					if s.Device != "Firefox on Linux" || s.Subject != "alice" || s.LoginAt.IsZero() || s.LastSeen.IsZero() {
						t.Errorf("listing lacks fields: %+v", s)
					}
					for _, id := range ids {
						if strings.Contains(s.Handle, id) || s.Handle == id {
							t.Errorf("handle reveals the login ID")
						}
					}
				}
				if current != 1 {
					t.Errorf("%d sessions marked current, want 1", current)
				}
				// By upstream session id: exactly that one.
				bySID, err := inst[2].m.ListSessions(context.Background(), Selector{Provider: provName, SID: "op-sid-c"})
				if err != nil || len(bySID) != 1 {
					t.Fatalf("by sid: %v %+v", err, bySID)
				}

				// When A ends B's session by handle, then no instance
				// serves it, and its bearer route (LoadByLoginID) is gone.
				var handleB string
				for _, s := range list {
					if s.Current {
						handleB = s.Handle
					}
				}
				l, err := inst[0].m.EndSession(context.Background(), Selector{Provider: provName, Subject: "alice"}, handleB)
				if err != nil {
					t.Fatal(err)
				}
				if l.Token == nil || l.Token.RefreshToken == "" {
					t.Errorf("EndSession returned no token set to revoke: %v", l)
				}
				for i, e := range inst {
					if got := e.who(cookies[1]); got != "" {
						t.Errorf("instance %d still serves the ended session as %q", i, got)
					}
					if _, err := e.m.LoadByLoginID(context.Background(), ids[1]); !errors.Is(err, ErrNotLoggedIn) {
						t.Errorf("instance %d: LoadByLoginID of the ended login: %v, want ErrNotLoggedIn", i, err)
					}
				}
				if _, err := inst[0].m.EndSession(context.Background(), Selector{Provider: provName, Subject: "alice"}, handleB); !errors.Is(err, ErrSessionNotFound) {
					t.Errorf("ending it again: %v, want ErrSessionNotFound", err)
				}
				// The request that loaded it before cannot save it back.
				inst[1].m.Sessions().Put(ctx, "app.value", "x")
				inst[1].commit(ctx)
				if got := inst[2].who(cookies[1]); got != "" {
					t.Errorf("a stale save brought the ended session back as %q", got)
				}

				// When all of alice's sessions end, every cookie is
				// anonymous everywhere and bob's is untouched.
				n, err := inst[2].m.EndSessions(context.Background(), Selector{Provider: provName, Subject: "alice"})
				if err != nil || n != 2 {
					t.Fatalf("EndSessions = %d, %v; want 2", n, err)
				}
				for i, e := range inst {
					for j, c := range cookies {
						if got := e.who(c); got != "" {
							t.Errorf("instance %d serves alice's session %d as %q", i, j, got)
						}
					}
					if got := e.who(bobCookie); got != "bob" {
						t.Errorf("instance %d: bob's session is %q", i, got)
					}
				}
				if left, _ := inst[0].m.ListSessions(context.Background(), Selector{Provider: provName, Subject: "alice"}); len(left) != 0 {
					t.Errorf("after ending all, %d listed", len(left))
				}
				for _, id := range ids {
					if inst[0].storeHas(RecordKeyForTest(id)) {
						t.Errorf("a login record survived the end")
					}
				}
			})
			t.Run("LogoutHoldsOnEveryInstance", func(t *testing.T) {
				t.Parallel()
				a, b := newIndexEnv(t, ic), newIndexEnv(t, ic)
				cookie, id, _ := a.loginAs("carol", "", "")
				// Given a request on B that loaded the session before the
				// logout on A,
				stale := b.request(cookie)
				if l, _ := b.m.CurrentLogin(stale); l == nil {
					t.Fatal("B does not see the login")
				}
				ctx := a.request(cookie)
				if _, err := a.m.Logout(ctx); err != nil {
					t.Fatal(err)
				}
				a.commit(ctx)
				// when it saves the session afterwards,
				b.m.Sessions().Put(stale, "app.value", "x")
				b.commit(stale)
				// then the store holds no session under the cookie, and
				// neither instance serves it.
				store, _, _ := ic.open(t)
				if raw, found, err := findRaw(store, cookie); err != nil || found {
					t.Errorf("the store has the session back after logout (%d bytes, %v)", len(raw), err)
				}
				for i, e := range []*env{a, b} {
					if got := e.who(cookie); got != "" {
						t.Errorf("instance %d serves the logged-out session as %q", i, got)
					}
				}
				if left, _ := a.m.ListSessions(context.Background(), Selector{Provider: provName, Subject: "carol"}); len(left) != 0 {
					t.Errorf("the index still lists %d sessions", len(left))
				}
				if a.storeHas(RecordKeyForTest(id)) {
					t.Error("login record survived the logout")
				}
			})
			t.Run("OnceExactlyOnce", func(t *testing.T) {
				t.Parallel()
				inst := []*env{newIndexEnv(t, ic), newIndexEnv(t, ic)}
				key := "jti-" + randHex(8)
				var firsts atomic.Int32
				var wg sync.WaitGroup
				for i := range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						first, err := inst[i%2].m.Once(context.Background(), key, time.Minute)
						if err != nil {
							t.Error(err)
						}
						if first {
							firsts.Add(1)
						}
					}()
				}
				wg.Wait()
				if firsts.Load() != 1 {
					t.Errorf("%d callers were first, want exactly 1", firsts.Load())
				}
				if first, _ := inst[0].m.Once(context.Background(), key+"-other", time.Minute); !first {
					t.Error("another key was not first")
				}
				// ForgetOnce undoes it, on every instance; forgetting an
				// unknown key is no error.
				if err := inst[1].m.ForgetOnce(context.Background(), key); err != nil {
					t.Fatal(err)
				}
				if first, err := inst[0].m.Once(context.Background(), key, time.Minute); err != nil || !first {
					t.Errorf("after ForgetOnce: first = %v, %v; want true", first, err)
				}
				if first, _ := inst[1].m.Once(context.Background(), key, time.Minute); first {
					t.Error("recorded again, yet first twice")
				}
				if err := inst[0].m.ForgetOnce(context.Background(), "never-"+key); err != nil {
					t.Errorf("ForgetOnce of an unknown key: %v", err)
				}
			})
			t.Run("EntriesHoldNoSecrets", func(t *testing.T) {
				t.Parallel()
				e := newIndexEnv(t, ic)
				cookie, _, tok := e.loginAs("dave", "op-sid-dave", "Chrome on Android")
				_ = e.who(cookie)
				raw := strings.Join(ic.raw(t), "\n")
				if !strings.Contains(raw, "Chrome on Android") {
					t.Fatalf("the raw dump does not show the entry (checker broken): %q", raw)
				}
				for name, secret := range map[string]string{"access token": tok.AccessToken, "refresh token": tok.RefreshToken, "session token": cookie} {
					if strings.Contains(raw, secret) {
						t.Errorf("the index holds the %s", name)
					}
				}
			})
		})
	}
}

// findRaw reads key from store directly (not through any guard).
func findRaw(store scs.Store, key string) ([]byte, bool, error) {
	if s, ok := store.(scs.CtxStore); ok {
		return s.FindCtx(context.Background(), key)
	}
	return store.Find(key)
}

func TestIndexRefusesOtherStores(t *testing.T) {
	t.Parallel()
	addr := servicetest.Env(t, "GATEHOUSE_REDIS_ADDR")
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	rx, err := redisindex.New(redisindex.Config{Client: c, SessionPrefix: "gh-test-right:"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		givenSt   scs.Store
		givenIdx  IndexStore
		expectErr string
	}{
		{"mem index on Redis", goredisstore.NewWithPrefix(c, "gh-test-right:"), NewMemIndex(), "in-memory stores only"},
		{"Redis index on memstore", memstore.NewWithCleanupInterval(0), rx, "goredisstore"},
		{"Redis index, other prefix", goredisstore.NewWithPrefix(c, "gh-test-wrong:"), rx, "SessionPrefix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sm := scs.New()
			sm.Store = tc.givenSt
			_, err := New(Config{SessionManager: sm, Index: tc.givenIdx, Logger: discard()})
			if !errors.Is(err, ErrIndexStore) || !strings.Contains(err.Error(), tc.expectErr) {
				t.Errorf("New = %v, want ErrIndexStore mentioning %q", err, tc.expectErr)
			}
		})
	}
	// The right pairing works.
	sm := scs.New()
	sm.Store = goredisstore.NewWithPrefix(c, "gh-test-right:")
	if _, err := New(Config{SessionManager: sm, Index: rx, Logger: discard()}); err != nil {
		t.Errorf("matching store and index: %v", err)
	}
}

func TestIndexWithoutIndex(t *testing.T) {
	t.Parallel()
	m, err := New(Config{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.EndSessions(context.Background(), Selector{Provider: "p", Subject: "s"}); !errors.Is(err, ErrNoIndex) {
		t.Errorf("EndSessions without index: %v", err)
	}
	if _, err := m.Once(context.Background(), "k", time.Minute); !errors.Is(err, ErrNoIndex) {
		t.Errorf("Once without index: %v", err)
	}
	if err := m.ForgetOnce(context.Background(), "k"); !errors.Is(err, ErrNoIndex) {
		t.Errorf("ForgetOnce without an index: %v, want ErrNoIndex", err)
	}
}
