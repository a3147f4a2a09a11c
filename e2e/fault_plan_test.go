package e2e

// The fault plan of shared/security-checklist.md §(c), F1–F16 (F6, F8 and
// F9 live in faults_test.go; F17 is the fuzz targets run by
// scripts/fuzz.sh). Each test drives the real middleware over loopback HTTP
// against the oauth2test fake, on a fake clock wherever the plan speaks of
// minutes, and asserts the plan's pass figures. This file holds the shared
// fixture; the scenarios are in fault_plan_*_test.go.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

const (
	fpProvider = "fake"
	fpClientID = "fault-plan-client"
	fpSecret   = "fault-plan-client-secret-3f9a"
	fpCookie   = "gh_fault_plan"
	fpTTL      = time.Hour // the fake's access token lifetime
)

// fpEpoch is where every fake clock starts.
var fpEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fpBaseline is harness.GoroutineBaseline, ignoring the idle cleanup
// goroutine of the memstore every scs.New starts (scs offers no race-free
// way to stop it).
func fpBaseline(t *testing.T) {
	t.Helper()
	harness.GoroutineBaseline(t, goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
}

// fpLong reports whether the slow scenarios run (make test-long sets
// GATEHOUSE_LONG=1).
func fpLong() bool { return os.Getenv("GATEHOUSE_LONG") == "1" }

// fpStats watches the refreshes Gatehouse makes, across every instance of
// a fixture: how many, how many at once, with which refresh token, and
// every token set the provider handed out (so tests can plant them in a
// leak scanner).
type fpStats struct {
	mu          sync.Mutex
	inflight    int
	maxInflight int
	refreshes   int
	failures    int
	invalid     int // invalid_grant answers
	perRT       map[string]int
	issued      []*provider.Token
	onRefresh   func(old *provider.Token) // called before the upstream call
}

// fpProbe is one instance's adapter, reporting to the fixture's fpStats.
type fpProbe struct {
	*oauth2.Adapter
	s *fpStats
}

func (p *fpProbe) Exchange(ctx context.Context, code, verifier string) (*provider.Token, error) {
	t, err := p.Adapter.Exchange(ctx, code, verifier)
	if err == nil {
		p.s.mu.Lock()
		p.s.issued = append(p.s.issued, t.Clone())
		p.s.mu.Unlock()
	}
	return t, err
}

func (p *fpProbe) Refresh(ctx context.Context, old *provider.Token) (*provider.Token, error) {
	s := p.s
	s.mu.Lock()
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	s.refreshes++
	s.perRT[old.RefreshToken]++
	hook := s.onRefresh
	s.mu.Unlock()
	if hook != nil {
		hook(old)
	}
	t, err := p.Adapter.Refresh(ctx, old)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	switch {
	case err == nil:
		s.issued = append(s.issued, t.Clone())
	case errors.Is(err, provider.ErrInvalidGrant):
		s.invalid++
		s.failures++
	default:
		s.failures++
	}
	return t, err
}

// counts returns refreshes, failures, invalid_grant answers and the
// highest number of refreshes in flight at once.
func (s *fpStats) counts() (refreshes, failures, invalid, maxInflight int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes, s.failures, s.invalid, s.maxInflight
}

// lastIssued is the newest token set the provider gave out.
func (s *fpStats) lastIssued() *provider.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.issued) == 0 {
		return nil
	}
	return s.issued[len(s.issued)-1].Clone()
}

// attempts returns how many refreshes presented refresh token rt.
func (s *fpStats) attempts(rt string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perRT[rt]
}

// fpOptions shapes one app instance (or several sharing a store).
type fpOptions struct {
	as        func(*oauth2test.Config)   // fake AS configuration
	sessions  func(*session.Config)      // session manager configuration
	auth      func(*middleware.Config)   // middleware configuration
	store     func(i int) scs.Store      // session store of instance i; default one shared memstore
	locker    func(i int) session.Locker // refresh lock of instance i; default one shared local locker
	instances int                        // default 1
	tokenVia  func(asURL string) string  // base URL the adapter sends token requests to (a proxy); default the AS
	asClock   *oauth2test.Clock          // the AS's clock; default the host clock
}

// fpInstance is one app instance: its Auth and its loopback server.
type fpInstance struct {
	auth *middleware.Auth
	mgr  *session.Manager
	srv  *httptest.Server
}

// fpFixture is a fake AS, the adapter (behind a probe), and app
// instances that serve
//
//	/auth/...  Gatehouse's handlers
//	/me        Require: 200 {"fp": fingerprint of the access token, "exp": unix expiry};
//	           500 when the token it got is not live at the AS
//	/opt       Optional: counts anonymous requests that reached the handler
//	/ready     readiness: 200, or 503 "degraded" when the session store fails
type fpFixture struct {
	t     *testing.T
	clock *oauth2test.Clock
	as    *oauth2test.Server
	stats *fpStats
	insts []*fpInstance
	logs  *harness.LogCapture
	tr    *http.Transport

	slowest   atomic.Int64 // longest time (ns) a request spent in an app instance
	reached   atomic.Int64 // requests that reached /me
	anonymous atomic.Int64 // anonymous requests that reached /opt
}

func newFPFixture(t *testing.T, o fpOptions) *fpFixture {
	t.Helper()
	if o.instances == 0 {
		o.instances = 1
	}
	f := &fpFixture{t: t, clock: oauth2test.NewClock(fpEpoch), logs: harness.NewLogCapture(), stats: &fpStats{perRT: map[string]int{}}}
	f.tr = &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512, IdleConnTimeout: 5 * time.Second}
	t.Cleanup(f.tr.CloseIdleConnections)

	// Listeners first: the redirect URI must be known to the AS.
	lns := make([]net.Listener, o.instances)
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
	}
	var redirects []string
	for _, ln := range lns {
		redirects = append(redirects, "http://"+ln.Addr().String()+"/auth/"+fpProvider+"/callback")
	}
	asClock := o.asClock
	if asClock == nil {
		asClock = f.clock
	}
	cfg := oauth2test.Config{
		Clients:        []oauth2test.Client{{ID: fpClientID, Secret: fpSecret, RedirectURIs: redirects}},
		Now:            asClock.Now,
		AccessTTL:      fpTTL,
		ReuseDetection: true,
		RequirePKCE:    true,
	}
	if o.as != nil {
		o.as(&cfg)
	}
	f.as = oauth2test.NewServer(cfg)
	t.Cleanup(f.as.Close)
	tokenBase := f.as.URL
	if o.tokenVia != nil {
		tokenBase = o.tokenVia(f.as.URL)
	}

	var sharedStore scs.Store
	sharedLocker := session.NewLocalLocker()
	for i, ln := range lns {
		base := "http://" + ln.Addr().String()
		ad, err := oauth2.New(oauth2.Config{
			Name: fpProvider, ClientID: fpClientID, ClientSecret: fpSecret,
			AuthURL: f.as.AuthorizeURL(), TokenURL: tokenBase + "/token",
			RevocationURL: f.as.RevocationURL(), UserInfoURL: f.as.UserInfoURL(),
			RedirectURL: redirects[i], Scopes: []string{"profile"},
			Now: f.clock.Now, Logger: f.logs.Logger(), Timeout: 5 * time.Second,
			HTTPClient: &http.Client{Transport: f.tr},
		})
		if err != nil {
			t.Fatal(err)
		}
		probe := &fpProbe{Adapter: ad, s: f.stats}

		sm := scs.New()
		switch {
		case o.store != nil:
			sm.Store = o.store(i)
		default:
			if sharedStore == nil {
				ms := memstore.NewWithCleanupInterval(0)
				sharedStore = ms
			}
			sm.Store = sharedStore
		}
		sm.Cookie.Name = fpCookie
		sm.Cookie.Secure = false // DevMode over plain-http loopback
		sm.Cookie.HttpOnly = true
		sm.Cookie.SameSite = http.SameSiteLaxMode
		sm.Lifetime = 24 * time.Hour
		sm.IdleTimeout = 0
		scfg := session.Config{SessionManager: sm, Now: f.clock.Now, Logger: f.logs.Logger()}
		if o.locker != nil {
			scfg.Locker = o.locker(i)
		} else {
			scfg.Locker = sharedLocker
		}
		if o.sessions != nil {
			o.sessions(&scfg)
		}
		mgr, err := session.New(scfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = mgr.Close() })
		acfg := middleware.Config{
			Providers: []provider.Provider{probe}, Sessions: mgr,
			PublicURL: base, DevMode: true, Now: f.clock.Now, Logger: f.logs.Logger(),
			UpstreamTransport: f.tr,
		}
		if o.auth != nil {
			o.auth(&acfg)
		}
		auth, err := middleware.New(acfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = auth.Close() })

		mux := http.NewServeMux()
		mux.Handle("/auth/", auth.Handler())
		mux.Handle("/me", auth.Require(http.HandlerFunc(f.serveMe)))
		mux.Handle("/opt", auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := middleware.IdentityFrom(r.Context()); !ok {
				f.anonymous.Add(1)
			}
			_, _ = io.WriteString(w, "optional")
		})))
		mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 500*time.Millisecond)
			defer cancel()
			if err := mgr.Ping(ctx); err != nil {
				http.Error(w, "degraded", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ready")
		})
		app := auth.Wrap(mux)
		timed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			app.ServeHTTP(w, r)
			d := int64(time.Since(start))
			for {
				cur := f.slowest.Load()
				if d <= cur || f.slowest.CompareAndSwap(cur, d) {
					break
				}
			}
		})
		srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: timed}}
		srv.Start()
		t.Cleanup(srv.Close)
		f.insts = append(f.insts, &fpInstance{auth: auth, mgr: mgr, srv: srv})
	}
	return f
}

// serveMe is the protected handler: it checks that the token Gatehouse
// handed it is live at the AS, and answers its fingerprint and expiry.
func (f *fpFixture) serveMe(w http.ResponseWriter, r *http.Request) {
	f.reached.Add(1)
	login, ok := middleware.LoginFrom(r.Context())
	if !ok || login.Token == nil {
		http.Error(w, "no login in context", http.StatusInternalServerError)
		return
	}
	if _, live := f.as.LookupAccessToken(login.Token.AccessToken); !live {
		http.Error(w, "dead access token", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"fp": fpFingerprint(login.Token.AccessToken), "exp": login.Token.Expiry.Unix()})
}

// fpFingerprint identifies a token without revealing it.
func fpFingerprint(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:6])
}

func (f *fpFixture) url(i int) string { return f.insts[i].srv.URL }

// browser returns a client with its own cookie jar that does not follow
// redirects.
func (f *fpFixture) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: f.tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// fpResp is a read response.
type fpResp struct {
	status int
	header http.Header
	body   string
	took   time.Duration
	err    error
}

func (r fpResp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	return m
}

// do sends a request; api sets Accept: application/json.
func fpDo(c *http.Client, method, u string, api bool, hdr http.Header) fpResp {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return fpResp{err: err}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if api {
		req.Header.Set("Accept", "application/json")
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return fpResp{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return fpResp{status: resp.StatusCode, header: resp.Header, body: string(b), took: time.Since(start), err: err}
}

// login runs a real redirect login for c through instance i and returns
// the fingerprint of the access token the session holds.
func (f *fpFixture) login(c *http.Client, i int) string {
	f.t.Helper()
	start := fpDo(c, http.MethodGet, f.url(i)+"/auth/"+fpProvider+"/login?return_to=%2Fme", false, nil)
	if start.err != nil || start.status != http.StatusFound {
		f.t.Fatalf("login start: %d %v %s", start.status, start.err, start.body)
	}
	cb, err := f.as.Authorize(context.Background(), start.header.Get("Location"))
	if err != nil {
		f.t.Fatalf("authorize: %v", err)
	}
	done := fpDo(c, http.MethodGet, cb.String(), false, nil)
	if done.err != nil || (done.status != http.StatusFound && done.status != http.StatusSeeOther) || done.header.Get("Location") != "/me" {
		f.t.Fatalf("callback: %d %v Location %q body %s", done.status, done.err, done.header.Get("Location"), done.body)
	}
	me := fpDo(c, http.MethodGet, f.url(i)+"/me", true, nil)
	if me.status != http.StatusOK {
		f.t.Fatalf("/me after login: %d %s", me.status, me.body)
	}
	return me.json(f.t)["fp"].(string)
}

// fpBurst sends n concurrent requests (released together) and returns the
// responses.
func fpBurst(n int, send func(i int) fpResp) []fpResp {
	out := make([]fpResp, n)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			out[i] = send(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return out
}

// fpPercentile returns the p-th percentile (0 < p ≤ 100) of ds.
func fpPercentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}

// fpRedis returns a client for GATEHOUSE_REDIS_ADDR (or addr, e.g. a
// proxy in front of it) and a key prefix unique to this test; the test's
// keys are deleted at cleanup.
func fpRedis(t *testing.T, addr string, opt func(*redis.Options)) (*redis.Client, string) {
	t.Helper()
	o := &redis.Options{Addr: addr}
	if opt != nil {
		opt(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	prefix := "gatehouse-faultplan:" + rand.Text()[:10] + ":"
	t.Cleanup(func() {
		cl := redis.NewClient(&redis.Options{Addr: redisAddr(t)})
		defer cl.Close()
		ctx := context.Background()
		iter := cl.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			cl.Del(ctx, iter.Val())
		}
	})
	return c, prefix
}

// fpRedisStore is an scs store on c under prefix.
func fpRedisStore(c *redis.Client, prefix string) scs.Store {
	return goredisstore.NewWithPrefix(c, prefix+"s:")
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// fpLatencyFigure checks a latency pass figure of the plan: got ≤ bound.
// Without the race detector it is asserted. Under -race (see fpRace) a
// miss is logged as "LATENCY FIGURE NOT MET UNDER -race" and the test goes
// on: the figure is about production builds, and the race detector's CPU
// cost on a small shared machine decides it, not Gatehouse.
func fpLatencyFigure(t *testing.T, what string, got, bound time.Duration) {
	t.Helper()
	switch {
	case got <= bound:
		t.Logf("%s %v ≤ %v: met", what, got, bound)
	case fpRace:
		t.Logf("LATENCY FIGURE NOT MET UNDER -race: %s %v > %v (asserted in builds without -race)", what, got, bound)
	default:
		t.Errorf("%s %v > %v", what, got, bound)
	}
}
