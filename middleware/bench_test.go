package middleware_test

// Performance benchmarks. scripts/bench.sh (make bench) runs them with
// -benchmem -count=6 and prints the ratios; CI runs them with
// -benchtime=100x so they keep compiling and running. Every baseline is
// configured as a user would run it: the recommended production session
// settings for scs alone as for Gatehouse, and a complete golang-jwt
// middleware (request and recorder included) for the JWT cases.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/middleware/echoauth"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

const (
	benchPublicURL = "https://app.example"
	benchClientID  = "bench-client"
	benchSecret    = "bench-client-secret-0123456789"
	benchProvider  = "alpha"
)

// benchIdentity and benchToken are the identity and token set every
// logged-in benchmark stores: a user id and a 1 KiB access token (the size
// of a typical JWT access token) with a refresh token and scopes.
func benchIdentity() provider.Identity {
	return provider.Identity{Provider: benchProvider, Subject: "user-123456", Name: "Ada Lovelace",
		Email: "ada@example.com", Picture: "https://example.com/a.png"}
}

func benchToken(expiry time.Time) *provider.Token {
	return &provider.Token{
		AccessToken:  "at-" + strings.Repeat("x", 1021),
		TokenType:    "Bearer",
		RefreshToken: "rt-" + strings.Repeat("y", 61),
		Expiry:       expiry,
		Scopes:       []string{"openid", "profile", "email"},
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// benchSessions is the scs manager every case uses, with the settings
// README's "Going to production" recommends (Gatehouse's defaults):
// IdleTimeout 30 min, Lifetime 8 h, a __Host- cookie that is Secure,
// HttpOnly, SameSite=Lax, Path=/ (GobCodec until Gatehouse replaces it).
func benchSessions(store scs.Store) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store
	sm.IdleTimeout = 30 * time.Minute
	sm.Lifetime = 8 * time.Hour
	sm.Cookie.Name = "__Host-gatehouse"
	sm.Cookie.Secure = true
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	return sm
}

// benchAS is a fake authorization server for alpha (benchASConfig),
// closed when tb ends.
func benchAS(tb testing.TB) *oauth2test.Server {
	srv := oauth2test.NewServer(benchASConfig())
	tb.Cleanup(srv.Close)
	return srv
}

func benchASConfig() oauth2test.Config {
	return oauth2test.Config{
		Clients:     []oauth2test.Client{{ID: benchClientID, Secret: benchSecret, RedirectURIs: []string{benchPublicURL + "/auth/" + benchProvider + "/callback"}}},
		Users:       []oauth2test.User{{Subject: "user-123456", Name: "Ada Lovelace", Email: "ada@example.com"}},
		AccessTTL:   time.Hour,
		RequirePKCE: true,
	}
}

func benchAdapter(tb testing.TB, srv *oauth2test.Server) *oauth2.Adapter {
	p, err := oauth2.New(oauth2.Config{
		Name: benchProvider, ClientID: benchClientID, ClientSecret: benchSecret,
		AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL(), RevocationURL: srv.RevocationURL(),
		UserInfoURL: srv.UserInfoURL(), RedirectURL: benchPublicURL + "/auth/" + benchProvider + "/callback",
		Scopes: []string{"openid", "profile"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// benchAuth builds an Auth over sm with the given providers (JWT optional).
func benchAuth(tb testing.TB, sm *scs.SessionManager, jwtA *jwtauth.Authority, ps ...provider.Provider) *middleware.Auth {
	mgr, err := session.New(session.Config{SessionManager: sm, Logger: discard()})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := middleware.New(middleware.Config{Providers: ps, Sessions: mgr, PublicURL: benchPublicURL, JWT: jwtA, Logger: discard()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = a.Close() })
	return a
}

// hello is the app handler behind Require: it reads the identity.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, ok := middleware.IdentityFrom(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, "hello "+id.Subject)
})

// serve runs one request per iteration and checks the answer.
func serve(b *testing.B, h http.Handler, prepare func(r *http.Request)) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(http.MethodGet, "/private", nil)
		prepare(r)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	}
}

// scsBaseline is the reference: scs LoadAndSave alone, its default
// GobCodec, storing the same identity and token set, read by the handler.
func scsBaseline(b *testing.B, store scs.Store) (http.Handler, *http.Cookie) {
	gob.Register(provider.Identity{})
	gob.Register(&provider.Token{})
	sm := benchSessions(store)
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	sm.Put(ctx, "identity", benchIdentity())
	sm.Put(ctx, "token", benchToken(time.Now().Add(time.Hour)))
	value, _, err := sm.Commit(ctx)
	if err != nil {
		b.Fatal(err)
	}
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := sm.Get(r.Context(), "identity").(provider.Identity)
		tok, ok2 := sm.Get(r.Context(), "token").(*provider.Token)
		if !ok || !ok2 || !tok.Valid() {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "hello "+id.Subject)
	}))
	return h, &http.Cookie{Name: sm.Cookie.Name, Value: value}
}

// cookieCase is Gatehouse's Require over store with a logged-in session.
func cookieCase(b *testing.B, store scs.Store) (*middleware.Auth, *http.Cookie) {
	return cookieCaseFor(b, store, benchIdentity())
}

// claimsIdentity is benchIdentity with the claims an OpenID Connect
// provider's ID token carries in Identity.Raw (16 members, an address
// object and a groups array), which every copy of the login copies too.
func claimsIdentity() provider.Identity {
	id := benchIdentity()
	id.Raw = map[string]any{
		"iss": "https://accounts.example.com", "sub": id.Subject, "aud": "client-id", "exp": 1.7e9, "iat": 1.7e9,
		"auth_time": 1.7e9, "sid": "op-session-1", "email": id.Email, "email_verified": true, "name": id.Name,
		"given_name": "Ada", "family_name": "Lovelace", "picture": id.Picture, "locale": "en",
		"address": map[string]any{"country": "UK", "locality": "London"}, "groups": []any{"staff", "admins"},
	}
	return id
}

// cookieCaseFor is cookieCase for a login of id.
func cookieCaseFor(b *testing.B, store scs.Store, id provider.Identity) (*middleware.Auth, *http.Cookie) {
	srv := benchAS(b)
	a := benchAuth(b, benchSessions(store), nil, benchAdapter(b, srv))
	c, err := authtest.NewSession(context.Background(), a, id, benchToken(time.Now().Add(time.Hour)))
	if err != nil {
		b.Fatal(err)
	}
	return a, c
}

// rotatingSessions is how many sessions cookie-rotating cycles through:
// more than the 1,024 the decode cache holds, so every request misses it.
const rotatingSessions = 4096

// rotatingCookies logs in n sessions on a.
func rotatingCookies(b *testing.B, a *middleware.Auth, n int) []*http.Cookie {
	out := make([]*http.Cookie, n)
	for i := range out {
		c, err := authtest.NewSession(context.Background(), a, benchIdentity(), benchToken(time.Now().Add(time.Hour)))
		if err != nil {
			b.Fatal(err)
		}
		out[i] = c
	}
	return out
}

// benchTokens logs in once on a and mints n bearer tokens (Authorization
// header values) for that login.
func benchTokens(b *testing.B, a *middleware.Auth, authority *jwtauth.Authority, n int) []string {
	c, err := authtest.NewSession(context.Background(), a, benchIdentity(), benchToken(time.Now().Add(time.Hour)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, err := a.Sessions().Sessions().Load(context.Background(), c.Value)
	if err != nil {
		b.Fatal(err)
	}
	l, err := a.Sessions().CurrentLogin(ctx)
	if err != nil || l == nil {
		b.Fatal("no login", err)
	}
	out := make([]string, n)
	for i := range out {
		tok, _, err := authority.Mint(l.Identity.Subject, l.ID, l.Provider, l.Token.Scopes)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = "Bearer " + tok
	}
	return out
}

// rawClaims are the claims a hand-written golang-jwt middleware reads.
type rawClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Scope     string `json:"scope"`
}

type rawClaimsKey struct{}

// rawJWT is the reference of jwt-*: a complete bearer middleware written
// directly on golang-jwt, as a user would without Gatehouse (one
// algorithm, issuer, audience, exp and iat checked, claims into the
// context), in front of the same handler work as hello.
func rawJWT(alg jwtauth.Algorithm, verifyKey any) http.Handler {
	parser := jwt.NewParser(jwt.WithValidMethods([]string{string(alg)}), jwt.WithIssuer(benchPublicURL),
		jwt.WithAudience("bench-api"), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	keyFunc := func(*jwt.Token) (any, error) { return verifyKey, nil }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		c := new(rawClaims)
		if !ok {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if _, err := parser.ParseWithClaims(tok, c, keyFunc); err != nil || c.SessionID == "" {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), rawClaimsKey{}, c))
		w.Header().Set("Cache-Control", "no-store")
		c, _ = r.Context().Value(rawClaimsKey{}).(*rawClaims)
		_, _ = io.WriteString(w, "hello "+c.Subject)
	})
}

// jwtKey returns a signing key for alg and the key a plain jwt.Parse
// verifies with.
func jwtKey(b *testing.B, alg jwtauth.Algorithm) (jwtauth.Key, any) {
	switch alg {
	case jwtauth.EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		return jwtauth.Key{ID: "k1", Private: priv}, pub
	case jwtauth.ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		return jwtauth.Key{ID: "k1", Private: priv}, &priv.PublicKey
	default:
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		return jwtauth.Key{ID: "k1", Private: secret}, secret
	}
}

// BenchmarkRequire measures one logged-in request through each stack, in
// one run so the ratios are comparable (see scripts/bench.sh). Sessions use
// the production settings of benchSessions (IdleTimeout on) throughout.
//
//   - bare: the handler alone (request and recorder included, as in every case);
//   - scs: scs LoadAndSave with its GobCodec and memstore, same identity and token set;
//   - cookie: Gatehouse Require, memstore, valid token, session cookie (one
//     session: the decode cache hits);
//   - cookie-claims: cookie for a login whose identity carries OpenID
//     Connect claims (claimsIdentity);
//   - cookie-rotating: the same over 4,096 sessions in turn (the decode
//     cache, 1,024 sessions, misses every time);
//   - echo-cookie: the same through Echo and echoauth;
//   - jwt-eddsa, jwt-es256, jwt-hs256: Require with a bearer JWT instead of the cookie;
//   - jwt-raw-*: a golang-jwt bearer middleware in front of the same
//     handler (the reference of jwt-*);
//   - jwt-rotating-*, jwt-raw-rotating-*: the same over 4,096 tokens of
//     the login in turn (Verify's cache of verified tokens misses);
//   - redis/scs, redis/cookie: scs and Gatehouse over a real Redis
//     (GATEHOUSE_REDIS_ADDR), reporting Redis round trips per request.
func BenchmarkRequire(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "hello "+"user-123456")
		}), func(*http.Request) {})
	})
	b.Run("scs", func(b *testing.B) {
		h, c := scsBaseline(b, memstore.NewWithCleanupInterval(0))
		serve(b, h, func(r *http.Request) { r.AddCookie(c) })
	})
	b.Run("cookie", func(b *testing.B) {
		a, c := cookieCase(b, memstore.NewWithCleanupInterval(0))
		serve(b, a.Require(hello), func(r *http.Request) { r.AddCookie(c) })
	})
	b.Run("cookie-claims", func(b *testing.B) {
		a, c := cookieCaseFor(b, memstore.NewWithCleanupInterval(0), claimsIdentity())
		serve(b, a.Require(hello), func(r *http.Request) { r.AddCookie(c) })
	})
	b.Run("cookie-rotating", func(b *testing.B) {
		srv := benchAS(b)
		a := benchAuth(b, benchSessions(memstore.NewWithCleanupInterval(0)), nil, benchAdapter(b, srv))
		cookies := rotatingCookies(b, a, rotatingSessions)
		i := 0
		serve(b, a.Require(hello), func(r *http.Request) {
			r.AddCookie(cookies[i%len(cookies)])
			i++
		})
	})
	b.Run("echo-cookie", func(b *testing.B) {
		a, c := cookieCase(b, memstore.NewWithCleanupInterval(0))
		e := echo.New()
		e.Use(echoauth.Sessions(a))
		e.GET("/private", echo.WrapHandler(hello), echoauth.Require(a))
		serve(b, e, func(r *http.Request) { r.AddCookie(c) })
	})
	for _, alg := range []jwtauth.Algorithm{jwtauth.EdDSA, jwtauth.ES256, jwtauth.HS256} {
		name := strings.ToLower(string(alg))
		key, verifyKey := jwtKey(b, alg)
		authority, err := jwtauth.New(jwtauth.Config{Issuer: benchPublicURL, Audience: "bench-api", Algorithm: alg, Keys: []jwtauth.Key{key}})
		if err != nil {
			b.Fatal(err)
		}
		// One login; tokens[0] is sent on every request of jwt-<alg> and
		// jwt-raw-<alg>, all of them in turn by the -rotating cases (more
		// tokens than the 1,024 Verify remembers: every request verifies
		// in full).
		srv := benchAS(b)
		a := benchAuth(b, benchSessions(memstore.NewWithCleanupInterval(0)), authority, benchAdapter(b, srv))
		tokens := benchTokens(b, a, authority, rotatingSessions)
		bearer := func(i *int) func(r *http.Request) {
			return func(r *http.Request) {
				r.Header.Set("Authorization", tokens[*i%len(tokens)])
				r.Header.Set("Accept", "application/json")
			}
		}
		var zero, i, j int
		b.Run("jwt-"+name, func(b *testing.B) { serve(b, a.Require(hello), bearer(&zero)) })
		b.Run("jwt-raw-"+name, func(b *testing.B) { serve(b, rawJWT(alg, verifyKey), bearer(&zero)) })
		b.Run("jwt-rotating-"+name, func(b *testing.B) {
			serve(b, a.Require(hello), func(r *http.Request) { bearer(&i)(r); i++ })
		})
		b.Run("jwt-raw-rotating-"+name, func(b *testing.B) {
			serve(b, rawJWT(alg, verifyKey), func(r *http.Request) { bearer(&j)(r); j++ })
		})
	}
	b.Run("redis", func(b *testing.B) {
		b.Run("scs", func(b *testing.B) {
			store, n := redisStore(b)
			h, c := scsBaseline(b, store)
			before := n.Load()
			serve(b, h, func(r *http.Request) { r.AddCookie(c) })
			b.ReportMetric(float64(n.Load()-before)/float64(b.N), "redis-cmds/op")
		})
		b.Run("cookie", func(b *testing.B) {
			store, n := redisStore(b)
			a, c := cookieCase(b, store)
			h := a.Require(hello)
			before := n.Load()
			serve(b, h, func(r *http.Request) { r.AddCookie(c) })
			b.ReportMetric(float64(n.Load()-before)/float64(b.N), "redis-cmds/op")
		})
	})
}

// countHook counts Redis round trips: each command, and each pipeline as one.
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// redisStore opens an scs store on GATEHOUSE_REDIS_ADDR under a fresh
// prefix (its keys are deleted afterwards) and the counter of its round
// trips. Without the variable the benchmark is skipped, except in CI
// (CI=true), where that is a failure.
func redisStore(tb testing.TB) (scs.Store, *atomic.Int64) {
	c, prefix := redisClient(tb)
	n := new(atomic.Int64)
	c.AddHook(countHook{n})
	return goredisstore.NewWithPrefix(c, prefix), n
}

// redisClient connects to GATEHOUSE_REDIS_ADDR and returns a fresh key
// prefix whose keys are deleted when tb ends (skipped without the
// variable, a failure under CI=true).
func redisClient(tb testing.TB) (*redis.Client, string) {
	addr := servicetest.Env(tb, "GATEHOUSE_REDIS_ADDR")
	c := redis.NewClient(&redis.Options{Addr: addr})
	var buf [6]byte
	_, _ = rand.Read(buf[:])
	prefix := "gh-bench:" + hex.EncodeToString(buf[:]) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis at %s: %v", addr, err)
	}
	return c, prefix
}

// BenchmarkLogin measures whole logins in-process, reported as logins/s:
// redirect (GET login → the fake's authorize endpoint → callback, which
// exchanges the code and reads userinfo from the fake over loopback HTTP)
// and password (a JSON POST to the Wazo-style login, which calls the fake
// wazo-auth).
func BenchmarkLogin(b *testing.B) {
	b.Run("redirect", func(b *testing.B) {
		srv := benchAS(b)
		a := benchAuth(b, benchSessions(memstore.NewWithCleanupInterval(0)), nil, benchAdapter(b, srv))
		redirectLogins(b, a.Wrap(a.Handler()), srv)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	})
	b.Run("password", func(b *testing.B) {
		wz := wazotest.NewServer(wazotest.Config{
			Users:       []wazotest.User{{Username: "alice", Password: "correct-horse-battery"}},
			MaxSessions: 1 << 30,
		})
		b.Cleanup(wz.Close)
		p, err := wazo.New(wazo.Config{BaseURL: wz.URL, ClientID: "gatehouse-bench"})
		if err != nil {
			b.Fatal(err)
		}
		a := benchAuth(b, benchSessions(memstore.NewWithCleanupInterval(0)), nil, p)
		h := a.Wrap(a.Handler())
		body, _ := json.Marshal(map[string]string{"username": "alice", "password": "correct-horse-battery"})
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest(http.MethodPost, benchPublicURL+"/auth/wazo/login", strings.NewReader(string(body)))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK || len(w.Result().Cookies()) == 0 {
				b.Fatalf("password login: %d %s", w.Code, w.Body.String())
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	})
}

// BenchmarkTelemetry is the OpenTelemetry overhead, each pair in the same
// run: "noop" passes no-op providers (nothing but the calls themselves),
// "global" leaves Config.TracerProvider and MeterProvider nil with no SDK
// installed (what an app that does not use OpenTelemetry gets), "sdk"
// records every span and metric with the SDK (no exporter). cookie is
// BenchmarkRequire/cookie (a logged-in request: no span, no metric),
// login is BenchmarkLogin/redirect (login start, callback, code exchange).
func BenchmarkTelemetry(b *testing.B) {
	modes := []struct {
		name string
		set  func(b *testing.B, c *session.Config)
	}{
		{"noop", func(b *testing.B, c *session.Config) {
			c.TracerProvider, c.MeterProvider = tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()
		}},
		{"global", func(*testing.B, *session.Config) {}},
		{"sdk", func(b *testing.B, c *session.Config) {
			tp := sdktrace.NewTracerProvider()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
			c.TracerProvider, c.MeterProvider = tp, mp
		}},
	}
	auth := func(b *testing.B, set func(*testing.B, *session.Config), p provider.Provider) *middleware.Auth {
		sc := session.Config{SessionManager: benchSessions(memstore.NewWithCleanupInterval(0)), Logger: discard()}
		set(b, &sc)
		mgr, err := session.New(sc)
		if err != nil {
			b.Fatal(err)
		}
		a, err := middleware.New(middleware.Config{Providers: []provider.Provider{p}, Sessions: mgr, PublicURL: benchPublicURL,
			Logger: discard(), TracerProvider: sc.TracerProvider, MeterProvider: sc.MeterProvider})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = a.Close() })
		return a
	}
	for _, m := range modes {
		b.Run("cookie/"+m.name, func(b *testing.B) {
			a := auth(b, m.set, benchAdapter(b, benchAS(b)))
			c, err := authtest.NewSession(context.Background(), a, benchIdentity(), benchToken(time.Now().Add(time.Hour)))
			if err != nil {
				b.Fatal(err)
			}
			serve(b, a.Require(hello), func(r *http.Request) { r.AddCookie(c) })
		})
	}
	for _, m := range modes {
		b.Run("login/"+m.name, func(b *testing.B) {
			srv := benchAS(b)
			redirectLogins(b, auth(b, m.set, benchAdapter(b, srv)).Handler(), srv)
		})
	}
}

// redirectLogins runs b.N whole redirect logins through h: login start,
// the fake's authorize endpoint, the callback (code exchange and userinfo
// over loopback HTTP). Each login comes from its own client address, as
// many users logging in (the per-IP login-start limit stays out of it).
func redirectLogins(b *testing.B, h http.Handler, srv *oauth2test.Server) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ip := fmt.Sprintf("10.%d.%d.%d:40000", byte(i>>16), byte(i>>8), byte(i))
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, benchPublicURL+"/auth/alpha/login?return_to=/inbox", nil)
		r.RemoteAddr = ip
		h.ServeHTTP(w, r)
		if w.Code != http.StatusFound {
			b.Fatalf("login: %d", w.Code)
		}
		cookies := w.Result().Cookies()
		code, state, err := srv.AuthorizeCode(ctx, w.Header().Get("Location"))
		if err != nil {
			b.Fatal(err)
		}
		r = httptest.NewRequest(http.MethodGet, benchPublicURL+"/auth/alpha/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state), nil)
		r.RemoteAddr = ip
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/inbox" {
			b.Fatalf("callback: %d %s", w.Code, w.Body.String())
		}
	}
}
