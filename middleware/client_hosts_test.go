package middleware_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

const hostsAccessToken = "hosts-test-access-token-6f1c2a"

// recordingServer is an httptest server that records the credential
// headers of every request it sees.
type recordingServer struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newRecordingServer(t *testing.T) *recordingServer {
	rs := &recordingServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.auths = append(rs.auths, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Auth-Token"))
		rs.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *recordingServer) seen() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.auths...)
}

func (rs *recordingServer) host() string { return strings.TrimPrefix(rs.URL, "http://") }

// countingTransport counts the requests that reach the base transport.
type countingTransport struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// bareProvider hides every optional interface of the wrapped provider,
// APIHoster included.
type bareProvider struct{ provider.RedirectProvider }

func newHostsProvider(t *testing.T, name, userInfoURL string) *oauth2.Adapter {
	t.Helper()
	p, err := oauth2.New(oauth2.Config{
		Name: name, ClientID: "cid",
		AuthURL: "https://idp.example/authorize", TokenURL: "https://idp.example/token",
		RedirectURL: "https://app.example/auth/" + name + "/callback",
		UserInfoURL: userInfoURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clientFor runs a Require-protected handler for a fresh login of
// providerName and hands its upstream client to fn.
func clientFor(t *testing.T, a *middleware.Auth, providerName string, fn func(ctx context.Context, c *http.Client)) {
	t.Helper()
	tok := &provider.Token{AccessToken: hostsAccessToken, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	cookie := authtest.Login(t, a, provider.Identity{Provider: providerName, Subject: "u-1"}, tok)
	ran := false
	h := a.Wrap(a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.Client(r.Context())
		if err != nil {
			t.Errorf("Client: %v", err)
			return
		}
		ran = true
		fn(r.Context(), c)
	})))
	req := httptest.NewRequest(http.MethodGet, "https://app.example/x", nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if !ran {
		t.Fatalf("handler did not run: status %d", rec.Code)
	}
}

func get(ctx context.Context, c *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// TestLeakClientCredentialOnlyToAPIHosts: the credential reaches the
// provider's API host; a request to another host (an upstream-supplied
// pagination or avatar URL) fails with ErrUpstreamHost naming the host and
// not the token, and the other host sees no request at all.
func TestLeakClientCredentialOnlyToAPIHosts(t *testing.T) {
	api := newRecordingServer(t)
	other := newRecordingServer(t)
	ct := &countingTransport{base: http.DefaultTransport}
	a, err := middleware.New(middleware.Config{
		Providers:         []provider.Provider{newHostsProvider(t, "alpha", api.URL+"/me")},
		UpstreamTransport: ct,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	clientFor(t, a, "alpha", func(ctx context.Context, c *http.Client) {
		if err := get(ctx, c, api.URL+"/repos?page=2"); err != nil {
			t.Fatalf("API host: %v", err)
		}
		before := ct.n.Load()
		for _, u := range []string{
			other.URL + "/avatar.png",                             // another host
			strings.Replace(api.URL, "127.0.0.1", "localhost", 1), // same machine, another host name
			"http://" + api.host() + "0/x",                        // the port is significant
			"ftp://" + api.host() + "/x",                          // not http(s)
		} {
			err := get(ctx, c, u)
			if !errors.Is(err, middleware.ErrUpstreamHost) {
				t.Errorf("%s: err %v, want ErrUpstreamHost", u, err)
				continue
			}
			if host := mustHost(t, u); !strings.Contains(err.Error(), host) {
				t.Errorf("error %q does not name host %q", err, host)
			}
			if strings.Contains(err.Error(), hostsAccessToken) {
				t.Errorf("error carries the token: %q", err)
			}
		}
		if n := ct.n.Load() - before; n != 0 {
			t.Errorf("%d refused requests reached the transport", n)
		}
	})
	if got := api.seen(); len(got) != 1 || got[0] != "Bearer "+hostsAccessToken+"|" {
		t.Errorf("API host saw %q, want one request with the bearer token", got)
	}
	if got := other.seen(); len(got) != 0 {
		t.Errorf("other host saw %d requests: %q", len(got), got)
	}
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestLeakClientUpstreamHostsExtends: Config.UpstreamHosts adds hosts to
// the provider's own, compared ignoring case; plain http is refused off
// loopback even for an allowed host, before anything is sent.
func TestLeakClientUpstreamHostsExtends(t *testing.T) {
	api := newRecordingServer(t)
	extra := newRecordingServer(t)
	other := newRecordingServer(t)
	ct := &countingTransport{base: http.DefaultTransport}
	a, err := middleware.New(middleware.Config{
		Providers:         []provider.Provider{newHostsProvider(t, "alpha", api.URL+"/me")},
		UpstreamHosts:     map[string][]string{"alpha": {strings.ToUpper("localhost") + ":" + extra.URL[strings.LastIndex(extra.URL, ":")+1:], "api.example"}},
		UpstreamTransport: ct,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	extraLocal := strings.Replace(extra.URL, "127.0.0.1", "localhost", 1)
	clientFor(t, a, "alpha", func(ctx context.Context, c *http.Client) {
		for _, u := range []string{api.URL + "/a", extraLocal + "/b"} {
			if err := get(ctx, c, u); err != nil {
				t.Errorf("%s: %v", u, err)
			}
		}
		before := ct.n.Load()
		for _, u := range []string{other.URL + "/c", extra.URL + "/d" /* 127.0.0.1, not localhost */, "http://api.example/e"} {
			if err := get(ctx, c, u); !errors.Is(err, middleware.ErrUpstreamHost) {
				t.Errorf("%s: err %v, want ErrUpstreamHost", u, err)
			}
		}
		if n := ct.n.Load() - before; n != 0 {
			t.Errorf("%d refused requests reached the transport", n)
		}
	})
	for name, rs := range map[string]*recordingServer{"api": api, "extra": extra} {
		if got := rs.seen(); len(got) != 1 || got[0] != "Bearer "+hostsAccessToken+"|" {
			t.Errorf("%s saw %q", name, got)
		}
	}
	if got := other.seen(); len(got) != 0 {
		t.Errorf("other host saw %q", got)
	}

	_, err = middleware.New(middleware.Config{
		Providers:     []provider.Provider{newHostsProvider(t, "alpha", api.URL+"/me")},
		UpstreamHosts: map[string][]string{"nope": {"api.example"}},
	})
	if !errors.Is(err, middleware.ErrConfig) {
		t.Errorf("unknown provider in UpstreamHosts: err %v", err)
	}
	_, err = middleware.New(middleware.Config{
		Providers:     []provider.Provider{newHostsProvider(t, "alpha", api.URL+"/me")},
		UpstreamHosts: map[string][]string{"alpha": {"https://api.example/"}},
	})
	if !errors.Is(err, middleware.ErrConfig) {
		t.Errorf("URL as UpstreamHosts entry: err %v", err)
	}
}

// TestLeakClientUndeclaredHostsWarns: a provider without APIHoster and
// without an UpstreamHosts entry keeps the unrestricted client, and New
// logs one warning about it.
func TestLeakClientUndeclaredHostsWarns(t *testing.T) {
	api := newRecordingServer(t)
	other := newRecordingServer(t)
	var logs lockedBuffer
	a, err := middleware.New(middleware.Config{
		Providers: []provider.Provider{
			bareProvider{newHostsProvider(t, "bare", api.URL+"/me")},
			newHostsProvider(t, "alpha", api.URL+"/me"),
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if n := strings.Count(out, "declares no API hosts"); n != 1 || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "provider bare declares") {
		t.Fatalf("want one warning for provider bare, logs:\n%s", out)
	}
	clientFor(t, a, "bare", func(ctx context.Context, c *http.Client) {
		if err := get(ctx, c, other.URL+"/x"); err != nil {
			t.Fatalf("unrestricted client refused: %v", err)
		}
	})
	if got := other.seen(); len(got) != 1 || got[0] != "Bearer "+hostsAccessToken+"|" {
		t.Errorf("other saw %q", got)
	}
}
