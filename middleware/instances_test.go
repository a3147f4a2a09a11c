package middleware_test

// Sessions across instances (issue 15): several Auths, each with its own
// scs and session managers (its own in-process state), share one real
// store behind a round-robin in-process proxy.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/middleware/redislimit"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
	"github.com/gatehouse-auth/gatehouse/session/pgindex"
	"github.com/gatehouse-auth/gatehouse/session/redisindex"
)

func hexID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// backend is one shared store: a fresh scs store and index per instance
// over one namespace.
type backend struct {
	name string
	// open returns the store and index for one more instance.
	open func(t testing.TB) (scs.Store, session.IndexStore)
	// raw reports whether the store holds key at all (no guard).
	raw func(t testing.TB, key string) bool
	// limits is the shared rate-limit store (nil: none).
	limits middleware.RateLimitStore
}

func redisBackend(t testing.TB, addr string) *backend {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	prefix := "gh-mw-test:" + hexID(6) + ":"
	x, err := redisindex.New(redisindex.Config{Client: c, SessionPrefix: prefix, Prefix: prefix + "idx:"})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := redislimit.New(redislimit.Config{Client: c, Prefix: prefix + "rl:"})
	if err != nil {
		t.Fatal(err)
	}
	return &backend{name: "redis",
		open: func(testing.TB) (scs.Store, session.IndexStore) { return goredisstore.NewWithPrefix(c, prefix), x },
		raw: func(t testing.TB, key string) bool {
			n, err := c.Exists(context.Background(), prefix+key).Result()
			if err != nil {
				t.Fatal(err)
			}
			return n == 1
		},
		limits: rl}
}

func postgresBackend(t testing.TB) *backend {
	pool, err := pgxpool.New(context.Background(), servicetest.Env(t, "GATEHOUSE_POSTGRES_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	x, err := pgindex.New(context.Background(), pgindex.Config{Pool: pool, CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return &backend{name: "postgres",
		open: func(testing.TB) (scs.Store, session.IndexStore) { return pgxstore.NewWithCleanupInterval(pool, 0), x },
		raw: func(t testing.TB, key string) bool {
			var n int
			if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM sessions WHERE token = $1", key).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}}
}

// cluster is N instances behind a round-robin proxy.
type cluster struct {
	t     testing.TB
	wz    *wazotest.Server
	inst  []*instance
	next  atomic.Int64
	proxy http.Handler
}

type instance struct {
	auth *middleware.Auth
	h    http.Handler
	gate chan struct{} // /slow waits for it to close
	in   atomic.Int64  // requests inside /slow
}

const clusterURL = "https://app.example"

func newCluster(t testing.TB, be *backend, n int, mutate func(*middleware.Config)) *cluster {
	t.Helper()
	cl := &cluster{t: t}
	cl.wz = wazotest.NewServer(wazotest.Config{Users: []wazotest.User{{Username: "alice", Password: "correct-horse-battery"}}})
	t.Cleanup(cl.wz.Close)
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		store, idx := be.open(t)
		sm := scs.New()
		sm.Store = store
		sm.Cookie.Name = "__Host-gatehouse"
		sm.Cookie.Secure = true
		sm.IdleTimeout, sm.Lifetime = 30*time.Minute, 8*time.Hour
		mgr, err := session.New(session.Config{SessionManager: sm, Index: idx, Logger: discard()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mgr.Close() })
		wz, err := wazo.New(wazo.Config{BaseURL: cl.wz.URL, ClientID: "gatehouse-cluster"})
		if err != nil {
			t.Fatal(err)
		}
		ja, err := jwtauth.New(jwtauth.Config{Issuer: clusterURL, Audience: "app-api", Keys: []jwtauth.Key{key}})
		if err != nil {
			t.Fatal(err)
		}
		cfg := middleware.Config{Providers: []provider.Provider{wz}, Sessions: mgr, PublicURL: clusterURL, JWT: ja,
			SessionsPage: true, RateLimitStore: be.limits, Logger: discard()}
		if mutate != nil {
			mutate(&cfg)
		}
		a, err := middleware.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		in := &instance{auth: a, gate: make(chan struct{})}
		hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := middleware.IdentityFrom(r.Context())
			_, _ = io.WriteString(w, "hello "+id.Subject)
		})
		mux := http.NewServeMux()
		mux.Handle("/auth/", a.Handler())
		mux.Handle("/private", a.Require(hello))
		mux.Handle("/slow", a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.Sessions().Sessions().Put(r.Context(), "app.touched", time.Now().String()) // the app changes the session
			in.in.Add(1)
			<-in.gate
			hello(w, r)
		})))
		in.h = a.Wrap(mux)
		cl.inst = append(cl.inst, in)
	}
	cl.proxy = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cl.inst[int(cl.next.Add(1)-1)%len(cl.inst)].h.ServeHTTP(w, r)
	})
	return cl
}

// do sends one request to h (an instance, or the proxy).
func do(h http.Handler, method, path, cookie, bearer, body string, hdr ...string) *http.Response {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, clusterURL+path, rd)
	req.RemoteAddr = "192.0.2.10:1234"
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "__Host-gatehouse", Value: cookie})
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func sessionCookie(res *http.Response) string {
	for _, c := range res.Cookies() {
		if c.Name == "__Host-gatehouse" && c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

// login logs alice in on h and returns the session cookie and a JWT.
func (cl *cluster) login(h http.Handler) (cookie, jwt string) {
	cl.t.Helper()
	res := do(h, http.MethodPost, "/auth/wazo/login", "", "", `{"username":"alice","password":"correct-horse-battery"}`)
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		cl.t.Fatalf("login: %d %s", res.StatusCode, b)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		cl.t.Fatalf("login reply: %v", err)
	}
	cookie = sessionCookie(res)
	if cookie == "" {
		cl.t.Fatal("login set no cookie")
	}
	return cookie, tr.AccessToken
}

func backends(t *testing.T) []*backend {
	return []*backend{redisBackend(t, servicetest.Env(t, "GATEHOUSE_REDIS_ADDR")), postgresBackend(t)}
}

// TestInstancesLogoutHoldsEverywhere is F20: log in on A, 100 requests in
// flight on B and C, log out on A; every request that starts after the
// logout answers 401 on all three, none of the in-flight ones saves the
// session back, and the bearer JWT is refused everywhere.
func TestInstancesLogoutHoldsEverywhere(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			cl := newCluster(t, be, 3, nil)
			a, b, c := cl.inst[0], cl.inst[1], cl.inst[2]
			cookie, jwt := cl.login(a.h)

			var inflight sync.WaitGroup
			codes := make(chan int, 100)
			for i := range 100 {
				inst := []*instance{b, c}[i%2]
				inflight.Add(1)
				go func() {
					defer inflight.Done()
					codes <- do(inst.h, http.MethodGet, "/slow", cookie, "", "").StatusCode
				}()
			}
			deadline := time.Now().Add(30 * time.Second)
			for b.in.Load()+c.in.Load() < 100 {
				if time.Now().After(deadline) {
					t.Fatalf("only %d requests got in flight", b.in.Load()+c.in.Load())
				}
				time.Sleep(time.Millisecond)
			}

			res := do(a.h, http.MethodPost, "/auth/logout", cookie, "", "", "Sec-Fetch-Site", "same-origin")
			if res.StatusCode != http.StatusNoContent {
				t.Fatalf("logout: %d", res.StatusCode)
			}
			// The in-flight requests finish (and save) while new ones
			// start on every instance.
			close(b.gate)
			close(c.gate)
			var after sync.WaitGroup
			var served atomic.Int64
			for i := range 99 {
				after.Add(1)
				go func() {
					defer after.Done()
					var r *http.Response
					if i%3 == 0 {
						r = do(cl.proxy, http.MethodGet, "/private", "", jwt, "")
					} else {
						r = do(cl.proxy, http.MethodGet, "/private", cookie, "", "")
					}
					if r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusFound {
						served.Add(1)
					}
				}()
			}
			after.Wait()
			inflight.Wait()
			close(codes)
			for code := range codes {
				if code != http.StatusOK {
					t.Errorf("a request in flight before the logout got %d (it started logged in)", code)
					break
				}
			}
			if served.Load() != 0 {
				t.Errorf("%d requests started after the logout were served as the user", served.Load())
			}
			for i, in := range cl.inst {
				if r := do(in.h, http.MethodGet, "/private", cookie, "", ""); r.StatusCode != http.StatusUnauthorized {
					t.Errorf("instance %d: the old cookie got %d, want 401", i, r.StatusCode)
				}
				if r := do(in.h, http.MethodGet, "/private", "", jwt, ""); r.StatusCode != http.StatusUnauthorized {
					t.Errorf("instance %d: the JWT got %d, want 401", i, r.StatusCode)
				}
			}
			if be.raw(t, cookie) {
				t.Error("an in-flight request saved the session back into the store")
			}
		})
	}
}

type sessionsReply struct {
	Sessions []session.SessionInfo `json:"sessions"`
}

// TestInstancesEndAllOthers: one user with 10 sessions over 3 instances;
// "end all others" from one leaves exactly that one, and the others'
// cookies and JWTs are refused on every instance.
func TestInstancesEndAllOthers(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			cl := newCluster(t, be, 3, nil)
			var cookies, jwts []string
			for i := range 10 {
				c, j := cl.login(cl.inst[i%3].h)
				cookies, jwts = append(cookies, c), append(jwts, j)
			}
			var list sessionsReply
			res := do(cl.inst[1].h, http.MethodGet, "/auth/sessions", cookies[4], "", "")
			if err := json.NewDecoder(res.Body).Decode(&list); err != nil || len(list.Sessions) != 10 {
				t.Fatalf("listed %d sessions (%v), want 10", len(list.Sessions), err)
			}
			for _, s := range list.Sessions {
				if s.Device != "Firefox on Linux" {
					t.Errorf("device %q", s.Device)
				}
			}
			// A form post without the CSRF token is refused.
			res = do(cl.inst[2].h, http.MethodPost, "/auth/sessions/end-others", cookies[4], "", "", "Content-Type", "application/x-www-form-urlencoded")
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("end-others without CSRF token: %d, want 403", res.StatusCode)
			}
			res = do(cl.inst[2].h, http.MethodPost, "/auth/sessions/end-others", cookies[4], "", "{}")
			var ended struct{ Ended int }
			if err := json.NewDecoder(res.Body).Decode(&ended); err != nil || res.StatusCode != http.StatusOK || ended.Ended != 9 {
				t.Fatalf("end-others: %d %+v %v, want 9 ended", res.StatusCode, ended, err)
			}
			for i := range 10 {
				want := http.StatusUnauthorized
				if i == 4 {
					want = http.StatusOK
				}
				for k, in := range cl.inst {
					if r := do(in.h, http.MethodGet, "/private", cookies[i], "", ""); r.StatusCode != want {
						t.Errorf("session %d cookie on instance %d: %d, want %d", i, k, r.StatusCode, want)
					}
					if r := do(in.h, http.MethodGet, "/private", "", jwts[i], ""); r.StatusCode != want {
						t.Errorf("session %d JWT on instance %d: %d, want %d", i, k, r.StatusCode, want)
					}
				}
			}
			res = do(cl.inst[0].h, http.MethodGet, "/auth/sessions", cookies[4], "", "")
			list = sessionsReply{}
			if err := json.NewDecoder(res.Body).Decode(&list); err != nil || len(list.Sessions) != 1 || !list.Sessions[0].Current {
				t.Errorf("after end-others: %+v %v, want exactly the current one", list.Sessions, err)
			}
			// Each ended session's upstream tokens were revoked.
			if err := waitFor(func() bool { return cl.wz.Calls(wazotest.EndpointRevoke) >= 9 }); err != nil {
				t.Errorf("revocations: %d, want 9", cl.wz.Calls(wazotest.EndpointRevoke))
			}
		})
	}
}

func waitFor(cond func() bool) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return nil
		}
	}
	return errors.New("timed out")
}

// TestInstancesPasswordLimitShared: wrong passwords sent round-robin to
// three instances are limited as one when the limiters share Redis; each
// instance alone would allow 5 failures.
func TestInstancesPasswordLimitShared(t *testing.T) {
	be := redisBackend(t, servicetest.Env(t, "GATEHOUSE_REDIS_ADDR"))
	for _, tc := range []struct {
		name          string
		whenShared    bool
		expectLimited int // the first attempt (1-based) that gets 429; 0: none of 9
	}{
		{"shared store", true, 6},
		{"per process (default)", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t, be, 3, func(c *middleware.Config) {
				c.PasswordRateLimit = middleware.RateLimit{Failures: 5, Window: time.Minute}
				if !tc.whenShared {
					c.RateLimitStore = nil
				}
			})
			user := "mallory-" + hexID(4) // fresh counters per run
			first := 0
			for i := 1; i <= 9; i++ {
				res := do(cl.proxy, http.MethodPost, "/auth/wazo/login", "", "", `{"username":"`+user+`","password":"wrong"}`)
				if res.StatusCode == http.StatusTooManyRequests && first == 0 {
					first = i
					if res.Header.Get("Retry-After") == "" {
						t.Error("429 without Retry-After")
					}
				}
			}
			if first != tc.expectLimited {
				t.Errorf("first 429 at attempt %d, want %d", first, tc.expectLimited)
			}
		})
	}
}

// tcpProxy forwards a loopback port to target and can cut every
// connection.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   atomic.Bool
}

func newTCPProxy(t testing.TB, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.down.Load() {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *tcpProxy) cut() {
	p.down.Store(true)
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

func (p *tcpProxy) restore() { p.down.Store(false) }

// TestInstancesRedisCut: Redis goes away in the middle. Requests get a
// clear 503 (never anonymous, never a login redirect), logout is not
// reported done, nothing is lost, and once Redis is back the sessions and
// the index are as before; ending them then works everywhere.
func TestInstancesRedisCut(t *testing.T) {
	proxy := newTCPProxy(t, servicetest.Env(t, "GATEHOUSE_REDIS_ADDR"))
	be := redisBackend(t, proxy.ln.Addr().String())
	cl := newCluster(t, be, 3, nil)
	c1, _ := cl.login(cl.inst[0].h)
	c2, _ := cl.login(cl.inst[1].h)

	proxy.cut()
	for i, in := range cl.inst {
		res := do(in.h, http.MethodGet, "/private", c1, "", "")
		var body struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&body)
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("instance %d during the cut: %d (Retry-After %q), want 503 with Retry-After", i, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	if res := do(cl.inst[2].h, http.MethodPost, "/auth/sessions/end-others", c1, "", "{}"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("end-others during the cut: %d, want 503", res.StatusCode)
	}
	if res := do(cl.inst[1].h, http.MethodPost, "/auth/logout", c2, "", "", "Sec-Fetch-Site", "same-origin"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("logout during the cut: %d, want 503 (never a success while the session may survive)", res.StatusCode)
	}

	proxy.restore()
	if err := waitFor(func() bool {
		return do(cl.inst[0].h, http.MethodGet, "/private", c1, "", "").StatusCode == http.StatusOK
	}); err != nil {
		t.Fatal("the session did not come back with Redis")
	}
	for i, in := range cl.inst {
		for _, c := range []string{c1, c2} {
			if r := do(in.h, http.MethodGet, "/private", c, "", ""); r.StatusCode != http.StatusOK {
				t.Errorf("instance %d after the cut: %d, want 200 (nothing lost)", i, r.StatusCode)
			}
		}
	}
	var list sessionsReply
	res := do(cl.inst[2].h, http.MethodGet, "/auth/sessions", c1, "", "")
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || len(list.Sessions) != 2 {
		t.Fatalf("index after the cut lists %d sessions (%v), want 2", len(list.Sessions), err)
	}
	if res := do(cl.inst[1].h, http.MethodPost, "/auth/logout", c2, "", "", "Sec-Fetch-Site", "same-origin"); res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout after the cut: %d", res.StatusCode)
	}
	list = sessionsReply{}
	res = do(cl.inst[0].h, http.MethodGet, "/auth/sessions", c1, "", "")
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || len(list.Sessions) != 1 || !list.Sessions[0].Current {
		t.Errorf("index after logout: %+v %v, want only the current session", list.Sessions, err)
	}
	for i, in := range cl.inst {
		if r := do(in.h, http.MethodGet, "/private", c2, "", ""); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("instance %d: logged-out cookie got %d", i, r.StatusCode)
		}
	}
}

// TestInstancesPasswordLimitConcurrent: wrong passwords sent all at once
// (40 concurrent, limit 5) reach the upstream at most 5 times, counted in
// the shared store across three instances or in each process; an attempt
// that did not fail (a successful login) is given back.
func TestInstancesPasswordLimitConcurrent(t *testing.T) {
	addr := servicetest.Env(t, "GATEHOUSE_REDIS_ADDR")
	for _, tc := range []struct {
		name        string
		whenShared  bool
		instances   int
		expectMax   int // most attempts answered 401 by the upstream
		expectTotal int
	}{
		{"shared store, three instances", true, 3, 5, 40},
		{"per process, one instance", false, 1, 5, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := redisBackend(t, addr) // counters of its own (the client IP is shared)
			cl := newCluster(t, be, tc.instances, func(c *middleware.Config) {
				c.PasswordRateLimit = middleware.RateLimit{Failures: 5, Window: time.Minute}
				if !tc.whenShared {
					c.RateLimitStore = nil
				}
				// A slow upstream, so that the attempts overlap.
				for i, p := range c.Providers {
					if pp, ok := p.(provider.PasswordProvider); ok {
						c.Providers[i] = slowPassword{pp}
					}
				}
			})
			user := "mallory-" + hexID(4)
			var wg sync.WaitGroup
			var unauthorized, limited atomic.Int64
			for range tc.expectTotal {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res := do(cl.proxy, http.MethodPost, "/auth/wazo/login", "", "", `{"username":"`+user+`","password":"wrong"}`)
					switch res.StatusCode {
					case http.StatusUnauthorized:
						unauthorized.Add(1)
					case http.StatusTooManyRequests:
						limited.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := unauthorized.Load(); n > int64(tc.expectMax) || n == 0 {
				t.Errorf("%d wrong passwords reached the upstream, want 1..%d", n, tc.expectMax)
			}
			if got := unauthorized.Load() + limited.Load(); got != int64(tc.expectTotal) {
				t.Errorf("%d answered 401 or 429, want all %d", got, tc.expectTotal)
			}
		})
	}
	t.Run("a successful login is given back", func(t *testing.T) {
		cl := newCluster(t, redisBackend(t, addr), 3, func(c *middleware.Config) {
			c.PasswordRateLimit = middleware.RateLimit{Failures: 2, Window: time.Minute}
		})
		login := func(pw string) int {
			return do(cl.proxy, http.MethodPost, "/auth/wazo/login", "", "", `{"username":"alice","password":"`+pw+`"}`).StatusCode
		}
		// One failure, then three good logins (each counted in advance and
		// given back), then one more failure: still under the limit of 2.
		if got := login("wrong"); got != http.StatusUnauthorized {
			t.Fatalf("first wrong password: %d", got)
		}
		for range 3 {
			if got := login("correct-horse-battery"); got != http.StatusOK {
				t.Fatalf("good password: %d, want 200", got)
			}
		}
		if got := login("wrong"); got != http.StatusUnauthorized {
			t.Fatalf("second wrong password: %d, want 401 (good logins must not count)", got)
		}
		if got := login("wrong"); got != http.StatusTooManyRequests {
			t.Fatalf("third wrong password: %d, want 429", got)
		}
	})
}

// slowPassword is a password provider whose upstream takes 50 ms.
type slowPassword struct{ provider.PasswordProvider }

func (s slowPassword) Login(ctx context.Context, username, password string) (*provider.Token, error) {
	time.Sleep(50 * time.Millisecond)
	return s.PasswordProvider.Login(ctx, username, password)
}
