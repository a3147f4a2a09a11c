package middleware_test

// OpenTelemetry spans and metrics (issue 16 point 9), read back with the
// SDK's in-memory span recorder and a manual metric reader.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// otelApp is an Auth whose telemetry goes to in-memory SDK providers: the
// redirect provider "alpha" (oauth2test) and the password provider "wazo".
type otelApp struct {
	a      *middleware.Auth
	h      http.Handler
	as     *oauth2test.Server
	wz     *wazotest.Server
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

const (
	otelUser     = "ada.lovelace@example.com"
	otelPassword = "planted-password-Xq93kLm2"
)

// newOtelApp builds the app; edit changes its Config (the providers are
// set already). With Sessions left nil, the session manager New creates
// gets the same providers.
func newOtelApp(t *testing.T, edit func(*middleware.Config)) *otelApp {
	t.Helper()
	o := &otelApp{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(o.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(o.reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	o.as = benchAS(t)
	o.wz = wazotest.NewServer(wazotest.Config{Users: []wazotest.User{{Username: otelUser, Password: otelPassword}}})
	t.Cleanup(o.wz.Close)
	wp, err := wazo.New(wazo.Config{BaseURL: o.wz.URL, ClientID: "gatehouse-otel"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := middleware.Config{
		Providers: []provider.Provider{benchAdapter(t, o.as), wp},
		PublicURL: benchPublicURL, Logger: discard(),
		TracerProvider: tp, MeterProvider: mp,
	}
	if edit != nil {
		edit(&cfg)
	}
	o.a, err = middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.a.Close() })
	mux := http.NewServeMux()
	mux.Handle("/auth/", o.a.Handler())
	mux.Handle("/private", o.a.Require(hello))
	o.h = o.a.Wrap(mux)
	return o
}

// do serves one request from 203.0.113.7 with cookies and returns the
// recorder.
func (o *otelApp) do(r *http.Request, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r.RemoteAddr = "203.0.113.7:40000"
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	o.h.ServeHTTP(w, r)
	return w
}

// loginStart GETs alpha's login and returns the response.
func (o *otelApp) loginStart(cookies ...*http.Cookie) *httptest.ResponseRecorder {
	return o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/auth/alpha/login?return_to=/inbox", nil), cookies...)
}

// login runs a whole redirect login through the fake and returns the
// session's cookies, the code and state it used, and every cookie it was
// sent (the session cookie before its renewal too).
func (o *otelApp) login(t *testing.T) (cookies []*http.Cookie, code, state string, all []*http.Cookie) {
	t.Helper()
	w := o.loginStart()
	if w.Code != http.StatusFound {
		t.Fatalf("login start: %d %s", w.Code, w.Body.String())
	}
	cookies = w.Result().Cookies()
	code, state, err := o.as.AuthorizeCode(context.Background(), w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	w = o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/auth/alpha/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state), nil), cookies...)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", w.Code, w.Body.String())
	}
	all = append(cookies, w.Result().Cookies()...)
	return latest(all), code, state, all
}

// latest keeps the last cookie of each name (a login renews the session
// cookie).
func latest(cs []*http.Cookie) []*http.Cookie {
	var out []*http.Cookie
	for i, c := range cs {
		later := false
		for _, d := range cs[i+1:] {
			later = later || d.Name == c.Name
		}
		if !later {
			out = append(out, c)
		}
	}
	return out
}

// passwordLogin posts a JSON password login for otelUser.
func (o *otelApp) passwordLogin(password string) *httptest.ResponseRecorder {
	body, _ := json.Marshal(map[string]string{"username": otelUser, "password": password})
	r := httptest.NewRequest(http.MethodPost, benchPublicURL+"/auth/wazo/login", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	return o.do(r)
}

// expiredSession stores a login of alpha whose access token has expired
// (tokens issued by the fake, so the refresh is real) and returns its
// cookie and the token set.
func (o *otelApp) expiredSession(t *testing.T) (*http.Cookie, *provider.Token) {
	t.Helper()
	issued := o.as.IssueToken(benchClientID, oauth2test.User{Subject: "user-123456"}, []string{"openid"})
	tok := &provider.Token{AccessToken: issued.AccessToken, TokenType: "Bearer", RefreshToken: issued.RefreshToken,
		Expiry: time.Now().Add(-time.Minute)}
	c, err := authtest.NewSession(context.Background(), o.a, benchIdentity(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

func (o *otelApp) ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range o.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// oneSpan returns the only ended span named name.
func (o *otelApp) oneSpan(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	got := o.ended(name)
	if len(got) != 1 {
		t.Fatalf("%d %s spans, want 1 (all: %v)", len(got), name, spanNames(o.spans.Ended()))
	}
	return got[0]
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// expectSpan checks a span's provider, outcome, error.type and status.
func expectSpan(t *testing.T, s sdktrace.ReadOnlySpan, providerName, outcome string) {
	t.Helper()
	a := spanAttrs(s)
	if providerName != "" && a["gatehouse.provider"] != providerName {
		t.Errorf("%s: gatehouse.provider = %q, want %q", s.Name(), a["gatehouse.provider"], providerName)
	}
	if a["gatehouse.outcome"] != outcome {
		t.Errorf("%s: gatehouse.outcome = %q, want %q", s.Name(), a["gatehouse.outcome"], outcome)
	}
	if outcome == "ok" {
		if et, ok := a["error.type"]; ok || s.Status().Code == codes.Error {
			t.Errorf("%s: successful span has error.type %q, status %v", s.Name(), et, s.Status())
		}
		return
	}
	if a["error.type"] != outcome || s.Status().Code != codes.Error || s.Status().Description != outcome {
		t.Errorf("%s: error.type %q, status %v; want %q and an error status", s.Name(), a["error.type"], s.Status(), outcome)
	}
}

// point is one metric data point: its attributes and value (a sum or
// gauge value, or a histogram's count and sum).
type point struct {
	attrs map[string]string
	value float64
	count uint64
}

func (o *otelApp) metrics(t *testing.T) map[string][]point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string][]point{}
	attrs := func(s attribute.Set) map[string]string {
		m := map[string]string{}
		for _, kv := range s.ToSlice() {
			m[string(kv.Key)] = kv.Value.Emit()
		}
		return m
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] = append(out[m.Name], point{attrs: attrs(p.Attributes), value: float64(p.Value)})
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] = append(out[m.Name], point{attrs: attrs(p.Attributes), value: float64(p.Value)})
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name] = append(out[m.Name], point{attrs: attrs(p.Attributes), value: p.Sum, count: p.Count})
				}
			default:
				t.Fatalf("metric %s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// value is the value of the point of metric name whose attributes are
// exactly want (0 when there is none).
func value(ms map[string][]point, name string, want map[string]string) float64 {
	for _, p := range ms[name] {
		if fmt.Sprint(p.attrs) == fmt.Sprint(want) {
			return p.value
		}
	}
	return 0
}

// TestTelemetryRedirectLogin: a login start, a callback and its code
// exchange each get a span with the provider and outcome "ok" (the
// exchange inside the callback), the login counts in gatehouse.logins, and
// the breaker gauge shows every provider closed.
func TestTelemetryRedirectLogin(t *testing.T) {
	t.Parallel()
	o := newOtelApp(t, nil)
	o.login(t)

	start := o.oneSpan(t, "gatehouse.login_start")
	cb := o.oneSpan(t, "gatehouse.callback")
	ex := o.oneSpan(t, "gatehouse.exchange")
	expectSpan(t, start, "alpha", "ok")
	expectSpan(t, cb, "alpha", "ok")
	expectSpan(t, ex, "alpha", "ok")
	if ex.Parent().SpanID() != cb.SpanContext().SpanID() {
		t.Errorf("the exchange span is not the callback's child")
	}

	ms := o.metrics(t)
	if got := value(ms, "gatehouse.logins", map[string]string{"gatehouse.provider": "alpha", "gatehouse.outcome": "ok"}); got != 1 {
		t.Errorf("gatehouse.logins{alpha, ok} = %v, want 1 (%v)", got, ms["gatehouse.logins"])
	}
	if len(ms["gatehouse.failures"]) != 0 {
		t.Errorf("failures recorded for a clean login: %v", ms["gatehouse.failures"])
	}
	for _, p := range []string{"alpha", "wazo"} {
		for state, want := range map[string]float64{"closed": 1, "open": 0, "half_open": 0} {
			if got := value(ms, "gatehouse.breaker.state", map[string]string{"gatehouse.provider": p, "gatehouse.breaker.state": state}); got != want {
				t.Errorf("gatehouse.breaker.state{%s, %s} = %v, want %v", p, state, got, want)
			}
		}
	}
}

// TestTelemetryFailures: upstream and request failures carry their code
// on the spans (error.type, error status) and in the counters.
func TestTelemetryFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		when func(t *testing.T, o *otelApp)
		// expectSpans: span name → outcome (each the only one of its name)
		expectSpans map[string]string
		// expectMetrics: metric → attributes → value
		expectMetrics map[string]map[string]float64
	}{
		{
			name: "callback whose code the upstream refuses (invalid_grant)",
			when: func(t *testing.T, o *otelApp) {
				w := o.loginStart()
				code, state, err := o.as.AuthorizeCode(context.Background(), w.Header().Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				o.as.Fail(oauth2test.EndpointToken, oauth2test.Failure{OAuthError: "invalid_grant"})
				w = o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/auth/alpha/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state), nil), w.Result().Cookies()...)
				if w.Code != http.StatusBadRequest {
					t.Fatalf("callback: %d", w.Code)
				}
			},
			expectSpans: map[string]string{"gatehouse.exchange": "invalid_grant", "gatehouse.callback": "login_failed"},
			expectMetrics: map[string]map[string]float64{
				"gatehouse.logins":   {"gatehouse.outcome=login_failed,gatehouse.provider=alpha": 1},
				"gatehouse.failures": {"error.type=login_failed,gatehouse.provider=alpha": 1},
			},
		},
		{
			name: "refresh the upstream refuses (invalid_grant)",
			when: func(t *testing.T, o *otelApp) {
				c, _ := o.expiredSession(t)
				o.as.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{OAuthError: "invalid_grant"})
				if w := o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/private", nil), c); w.Code == http.StatusOK {
					t.Fatal("served after invalid_grant")
				}
			},
			expectSpans:   map[string]string{"gatehouse.refresh": "invalid_grant"},
			expectMetrics: map[string]map[string]float64{"gatehouse.refreshes": {"gatehouse.outcome=invalid_grant,gatehouse.provider=alpha": 1}},
		},
		{
			name: "refresh the upstream rate-limits (429)",
			when: func(t *testing.T, o *otelApp) {
				c, _ := o.expiredSession(t)
				o.as.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{Status: http.StatusTooManyRequests})
				if w := o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/private", nil), c); w.Code != http.StatusServiceUnavailable {
					t.Fatalf("status %d, want 503", w.Code)
				}
			},
			expectSpans:   map[string]string{"gatehouse.refresh": "rate_limited"},
			expectMetrics: map[string]map[string]float64{"gatehouse.refreshes": {"gatehouse.outcome=rate_limited,gatehouse.provider=alpha": 1}},
		},
		{
			name: "wrong password",
			when: func(t *testing.T, o *otelApp) {
				if w := o.passwordLogin("not-the-password"); w.Code != http.StatusUnauthorized {
					t.Fatalf("status %d", w.Code)
				}
			},
			expectSpans: map[string]string{"gatehouse.password_login": "invalid_credentials", "gatehouse.exchange": "invalid_credentials"},
			expectMetrics: map[string]map[string]float64{
				"gatehouse.logins":   {"gatehouse.outcome=invalid_credentials,gatehouse.provider=wazo": 1},
				"gatehouse.failures": {"error.type=invalid_credentials,gatehouse.provider=wazo": 1},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOtelApp(t, nil)
			tc.when(t, o)
			for name, outcome := range tc.expectSpans {
				s := o.oneSpan(t, name)
				expectSpan(t, s, "", outcome)
			}
			ms := o.metrics(t)
			for metric, want := range tc.expectMetrics {
				for attrs, v := range want {
					m := map[string]string{}
					for _, kv := range strings.Split(attrs, ",") {
						k, val, _ := strings.Cut(kv, "=")
						m[k] = val
					}
					if got := value(ms, metric, m); got != v {
						t.Errorf("%s{%s} = %v, want %v (have %v)", metric, attrs, got, v, ms[metric])
					}
				}
			}
		})
	}
}

// TestTelemetryLimiterRejections: a request refused by each rate limiter
// counts in gatehouse.limiter.rejections under that limiter's name, and
// its span ends with outcome rate_limited.
func TestTelemetryLimiterRejections(t *testing.T) {
	t.Parallel()
	one := middleware.RateLimit{Failures: 1, Window: time.Hour}
	cases := []struct {
		name        string
		givenLimits func(*middleware.Config)
		when        func(o *otelApp) *httptest.ResponseRecorder // the request that is refused (after one allowed)
		expectSpan  string
		expect      string // limiter
		expectProv  string
	}{
		{
			name:        "login start",
			givenLimits: func(c *middleware.Config) { c.LoginRateLimit = one },
			when: func(o *otelApp) *httptest.ResponseRecorder {
				o.loginStart()
				return o.loginStart()
			},
			expectSpan: "gatehouse.login_start", expect: "login_start", expectProv: "alpha",
		},
		{
			name:        "callback",
			givenLimits: func(c *middleware.Config) { c.CallbackRateLimit = one },
			when: func(o *otelApp) *httptest.ResponseRecorder {
				o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/auth/alpha/callback?code=x", nil)) // no state: a failure
				return o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/auth/alpha/callback?code=x", nil))
			},
			expectSpan: "gatehouse.callback", expect: "callback", expectProv: "alpha",
		},
		{
			name:        "password",
			givenLimits: func(c *middleware.Config) { c.PasswordRateLimit = one },
			when: func(o *otelApp) *httptest.ResponseRecorder {
				o.passwordLogin("wrong-1")
				return o.passwordLogin("wrong-2")
			},
			expectSpan: "gatehouse.password_login", expect: "password", expectProv: "wazo",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOtelApp(t, tc.givenLimits)
			if w := tc.when(o); w.Code != http.StatusTooManyRequests {
				t.Fatalf("status %d, want 429", w.Code)
			}
			spans := o.ended(tc.expectSpan)
			if len(spans) != 2 {
				t.Fatalf("%d %s spans, want 2", len(spans), tc.expectSpan)
			}
			expectSpan(t, spans[1], tc.expectProv, "rate_limited")
			ms := o.metrics(t)
			if got := value(ms, "gatehouse.limiter.rejections", map[string]string{"gatehouse.limiter": tc.expect}); got != 1 {
				t.Errorf("gatehouse.limiter.rejections{%s} = %v, want 1 (%v)", tc.expect, got, ms["gatehouse.limiter.rejections"])
			}
			if len(ms["gatehouse.limiter.rejections"]) != 1 {
				t.Errorf("rejections under other limiters: %v", ms["gatehouse.limiter.rejections"])
			}
			if got := value(ms, "gatehouse.failures", map[string]string{"gatehouse.provider": tc.expectProv, "error.type": "rate_limited"}); got != 1 {
				t.Errorf("gatehouse.failures{rate_limited} = %v, want 1", got)
			}
		})
	}
}

// TestTelemetryRefreshOncePerRefresh: 50 concurrent requests on a session
// whose token has expired share one upstream refresh: one refresh span,
// one count and one latency sample, all from the session manager New
// created (Config.Sessions nil). The protected requests themselves get no
// span.
func TestTelemetryRefreshOncePerRefresh(t *testing.T) {
	t.Parallel()
	const n = 50
	o := newOtelApp(t, nil)
	c, _ := o.expiredSession(t)
	o.as.ResetCalls()
	o.as.Fail(oauth2test.EndpointToken, oauth2test.Failure{Delay: 50 * time.Millisecond, Times: -1})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if w := o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/private", nil), c); w.Code != http.StatusOK {
				t.Errorf("status %d", w.Code)
			}
		})
	}
	wg.Wait()
	if got := o.as.Calls(oauth2test.EndpointToken); got != 1 {
		t.Fatalf("upstream refreshes: %d, want 1", got)
	}
	if all := o.spans.Ended(); len(all) != 1 {
		t.Fatalf("spans %v, want only one gatehouse.refresh", spanNames(all))
	}
	expectSpan(t, o.oneSpan(t, "gatehouse.refresh"), "alpha", "ok")
	ms := o.metrics(t)
	okAlpha := map[string]string{"gatehouse.provider": "alpha", "gatehouse.outcome": "ok"}
	if got := value(ms, "gatehouse.refreshes", okAlpha); got != 1 {
		t.Errorf("gatehouse.refreshes{alpha, ok} = %v, want 1", got)
	}
	h := ms["gatehouse.refresh.duration"]
	if len(h) != 1 || h[0].count != 1 || h[0].value < 0.05 || fmt.Sprint(h[0].attrs) != fmt.Sprint(okAlpha) {
		t.Errorf("gatehouse.refresh.duration = %+v, want one sample ≥ 0.05 s for {alpha, ok}", h)
	}
}

// TestTelemetryBreakerOpen: with an app-supplied session manager (its own
// providers in session.Config), a refresh failure that opens the breaker
// shows as gatehouse.breaker.state{alpha, open} = 1.
func TestTelemetryBreakerOpen(t *testing.T) {
	t.Parallel()
	o := newOtelApp(t, func(c *middleware.Config) {
		mgr, err := session.New(session.Config{SessionManager: benchSessions(memstore.NewWithCleanupInterval(0)), Logger: discard(),
			BreakerThreshold: 1, BreakerOpen: time.Hour, TracerProvider: c.TracerProvider, MeterProvider: c.MeterProvider})
		if err != nil {
			t.Fatal(err)
		}
		c.Sessions = mgr
	})
	c, _ := o.expiredSession(t)
	o.as.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{Status: http.StatusBadGateway})
	if w := o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/private", nil), c); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.Code)
	}
	expectSpan(t, o.oneSpan(t, "gatehouse.refresh"), "alpha", "unavailable")
	ms := o.metrics(t)
	for state, want := range map[string]float64{"closed": 0, "open": 1, "half_open": 0} {
		if got := value(ms, "gatehouse.breaker.state", map[string]string{"gatehouse.provider": "alpha", "gatehouse.breaker.state": state}); got != want {
			t.Errorf("gatehouse.breaker.state{alpha, %s} = %v, want %v", state, got, want)
		}
	}
	if got := value(ms, "gatehouse.breaker.state", map[string]string{"gatehouse.provider": "wazo", "gatehouse.breaker.state": "closed"}); got != 1 {
		t.Errorf("wazo's breaker is not closed: %v", got)
	}
}

// TestTelemetryLogoutAndRevocation: a logout gets a span naming the
// provider, and the background revocation its own span.
func TestTelemetryLogoutAndRevocation(t *testing.T) {
	t.Parallel()
	o := newOtelApp(t, nil)
	cookies, _, _, _ := o.login(t)
	r := httptest.NewRequest(http.MethodPost, benchPublicURL+"/auth/logout", nil)
	r.Header.Set("Origin", benchPublicURL)
	if w := o.do(r, cookies...); w.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", w.Code, w.Body.String())
	}
	_ = o.a.Close() // waits for the background revocation
	expectSpan(t, o.oneSpan(t, "gatehouse.logout"), "alpha", "ok")
	rv := o.oneSpan(t, "gatehouse.revoke")
	expectSpan(t, rv, "alpha", "ok")
	if got := spanAttrs(rv)["gatehouse.revoke.attempts"]; got != "1" {
		t.Errorf("revoke attempts = %q, want 1", got)
	}
}

// TestTelemetryNoSecrets plants every secret a login handles — the code,
// state and PKCE challenge, access and refresh tokens, passwords, the
// username (an email), the subject and the session cookies — and checks
// that no span (name, attribute, status, event) and no metric label
// contains any of them.
func TestTelemetryNoSecrets(t *testing.T) {
	t.Parallel()
	o := newOtelApp(t, nil)
	var secrets []string

	// A redirect login, a replayed callback, logout with revocation.
	w := o.loginStart()
	loc, _ := url.Parse(w.Header().Get("Location"))
	secrets = append(secrets, loc.Query().Get("code_challenge"), loc.Query().Get("state"))
	for _, c := range w.Result().Cookies() {
		secrets = append(secrets, c.Value)
	}
	cookies, code, state, all := o.login(t)
	secrets = append(secrets, code, state)
	for _, c := range all {
		secrets = append(secrets, c.Value)
	}

	o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/auth/alpha/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state), nil), cookies...)
	lr := httptest.NewRequest(http.MethodPost, benchPublicURL+"/auth/logout", nil)
	lr.Header.Set("Origin", benchPublicURL)
	o.do(lr, cookies...)

	// A refresh, then one the upstream refuses.
	c, tok := o.expiredSession(t)
	secrets = append(secrets, c.Value, tok.AccessToken, tok.RefreshToken)
	o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/private", nil), c)
	c2, tok2 := o.expiredSession(t)
	secrets = append(secrets, c2.Value, tok2.AccessToken, tok2.RefreshToken)
	o.as.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{OAuthError: "invalid_grant"})
	o.do(httptest.NewRequest(http.MethodGet, benchPublicURL+"/private", nil), c2)

	// Password logins: a wrong one, a right one.
	o.passwordLogin("planted-wrong-password-7Hh2")
	pw := o.passwordLogin(otelPassword)
	for _, c := range pw.Result().Cookies() {
		secrets = append(secrets, c.Value)
	}
	secrets = append(secrets, otelPassword, "planted-wrong-password-7Hh2", otelUser, "user-123456", "ada@example.com")
	_ = o.a.Close()

	var seen []string
	for _, s := range o.spans.Ended() {
		seen = append(seen, s.Name(), s.Status().Description)
		for _, kv := range s.Attributes() {
			seen = append(seen, string(kv.Key)+"="+kv.Value.Emit())
		}
		for _, e := range s.Events() {
			seen = append(seen, e.Name)
			for _, kv := range e.Attributes {
				seen = append(seen, string(kv.Key)+"="+kv.Value.Emit())
			}
		}
	}
	if len(o.spans.Ended()) < 10 {
		t.Fatalf("only %d spans: the flow did not run", len(o.spans.Ended()))
	}
	for name, points := range o.metrics(t) {
		for _, p := range points {
			for k, v := range p.attrs {
				seen = append(seen, name+":"+k+"="+v)
			}
		}
	}
	for _, s := range secrets {
		if len(s) < 6 {
			t.Fatalf("planted secret %q too short to search for", s)
		}
		for _, v := range seen {
			if strings.Contains(v, s) {
				t.Errorf("telemetry holds a secret: %q contains %q", v, s)
			}
		}
	}
}
