package e2e

// Issue 8 item 2: the login / refresh / logout suite over the three session
// stores an app may configure on its scs manager: the in-memory store
// (default), Redis (scs goredisstore on a go-redis client) and PostgreSQL
// (scs pgxstore on a pgx pool). Redis and PostgreSQL come from
// GATEHOUSE_REDIS_ADDR and GATEHOUSE_POSTGRES_DSN (skipped without them,
// failed under CI=true; scripts/services.sh starts both and creates the
// pgxstore "sessions" table).

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// hxRedis returns a client for GATEHOUSE_REDIS_ADDR and a key prefix unique
// to the test; the test's keys are deleted at cleanup.
func hxRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	addr := redisAddr(t)
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64})
	prefix := "gatehouse-hx:" + rand.Text()[:12] + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	return c, prefix
}

// hxPostgres returns a pool for GATEHOUSE_POSTGRES_DSN whose database has
// pgxstore's "sessions" table.
func hxPostgres(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := postgresDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL pool: %v", err)
	}
	t.Cleanup(pool.Close)
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE false`).Scan(&n); err != nil {
		t.Fatalf("PostgreSQL at %s has no usable pgxstore \"sessions\" table (scripts/services.sh creates it): %v", harnessRedact(dsn), err)
	}
	return pool
}

// harnessRedact drops the password of a DSN for messages.
func harnessRedact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return "(DSN)"
}

// hxStore is a session store an app can configure.
type hxStore struct {
	name string
	make func(t *testing.T) scs.Store
}

var hxStoreKinds = []hxStore{
	{"memstore", func(t *testing.T) scs.Store { return memstore.NewWithCleanupInterval(0) }},
	{"redis", func(t *testing.T) scs.Store {
		c, prefix := hxRedis(t)
		return goredisstore.NewWithPrefix(c, prefix+"s:")
	}},
	{"postgres", func(t *testing.T) scs.Store {
		return pgxstore.NewWithCleanupInterval(hxPostgres(t), 0)
	}},
}

// hxCookieValue returns the session cookie b holds for the app.
func (b *hxBrowser) cookieValue() string {
	u, _ := url.Parse(b.base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == hxCookie {
			return c.Value
		}
	}
	return ""
}

// hxInStore reports whether the store holds the session token.
func hxInStore(t *testing.T, st scs.Store, token string) bool {
	t.Helper()
	if token == "" {
		return false
	}
	var found bool
	var err error
	if cs, ok := st.(scs.CtxStore); ok { // goredisstore and pgxstore want a context
		_, found, err = cs.FindCtx(context.Background(), token)
	} else {
		_, found, err = st.Find(token)
	}
	if err != nil {
		t.Fatalf("store Find: %v", err)
	}
	return found
}

// TestHxStores runs login, expiry-driven refresh, an upstream call and
// logout over every store, for every provider style and both stacks.
func TestHxStores(t *testing.T) {
	for _, sk := range hxStoreKinds {
		t.Run(sk.name, func(t *testing.T) {
			st := sk.make(t)
			for _, stack := range []string{hxStackNetHTTP, hxStackEcho} {
				for _, style := range hxStyles {
					t.Run(stack+"/"+style, func(t *testing.T) {
						app := hxNewApp(t, hxOptions{stack: stack, store: st})
						hxStoreSuite(t, app, st, app.target(stack).prov(t, style))
					})
				}
			}
		})
	}
}

func hxStoreSuite(t *testing.T, app *hxApp, st scs.Store, p hxProv) {
	b := hxNewBrowser(t, app.URL)
	// A login attempt lives in the store before the login completes.
	if !p.password() {
		b.nf.GET("/auth/"+p.name+"/login").WithQuery("return_to", "/").Expect().Status(http.StatusFound)
		pre := b.cookieValue()
		if !hxInStore(t, st, pre) {
			t.Fatal("the login attempt's session is not in the store")
		}
		b.mustLogin(p)
		if post := b.cookieValue(); post == pre || hxInStore(t, st, pre) {
			t.Fatal("the session id was not renewed at login (or the old one is still stored)")
		}
	} else {
		b.mustLogin(p)
	}
	token := b.cookieValue()
	if !hxInStore(t, st, token) {
		t.Fatal("the logged-in session is not in the store")
	}
	code, me, _ := b.api("/api/me")
	if code != http.StatusOK || me["provider"] != p.name || me["refreshed_at"] != nil {
		t.Fatalf("/api/me after login = %d %v", code, me)
	}

	// The token comes due: the next request refreshes it once, stores the
	// new set, and later requests (another load from the store) see it.
	before := 0
	if p.refreshes != nil {
		before = p.refreshes()
	}
	app.up.clock.Advance(hxTTL)
	code, me2, _ := b.api("/api/me")
	if code != http.StatusOK || me2["refreshed_at"] == nil || me2["expires_at"] == me["expires_at"] {
		t.Fatalf("/api/me after expiry = %d %v (before: %v), want a refreshed token", code, me2, me)
	}
	code, me3, _ := b.api("/api/me")
	if code != http.StatusOK || me3["expires_at"] != me2["expires_at"] || me3["refreshed_at"] != me2["refreshed_at"] {
		t.Fatalf("/api/me on the next request = %d %v, want the stored refresh %v", code, me3, me2)
	}
	if p.refreshes != nil {
		if n := p.refreshes() - before; n != 1 {
			t.Fatalf("%d refresh calls at the fake, want exactly 1", n)
		}
	}
	code, up, _ := b.api("/api/upstream")
	if code != http.StatusOK || up["status"] != float64(http.StatusOK) {
		t.Fatalf("upstream call with the refreshed token = %d %v", code, up)
	}

	// A second browser's session is independent of the first's.
	other := hxNewBrowser(t, app.URL)
	other.mustLogin(p)
	otherToken := other.cookieValue()

	// Logout deletes the session from the store.
	csrf := hxCSRF(t, b.page("/").Status(http.StatusOK).Body().Raw())
	b.logout(csrf)
	if hxInStore(t, st, token) {
		t.Fatal("the session is still in the store after logout")
	}
	hxNotLoggedIn(t, b)
	if code, m, _ := other.api("/api/me"); code != http.StatusOK || m["provider"] != p.name || !hxInStore(t, st, otherToken) {
		t.Fatalf("the other browser's session after the first's logout = %d %v", code, m)
	}
}
