package oauth2_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func validConfig() oauth2.Config {
	return oauth2.Config{
		Name: "gen", ClientID: "id", ClientSecret: "sec",
		AuthURL: "https://as.example/authorize", TokenURL: "https://as.example/token",
		RedirectURL: "https://app.example/cb", UserInfoURL: "https://as.example/me",
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*oauth2.Config)
		ok   bool
	}{
		{"valid", func(*oauth2.Config) {}, true},
		{"http on 127.0.0.1", func(c *oauth2.Config) { c.TokenURL = "http://127.0.0.1:8080/token" }, true},
		{"http on 127.1.2.3", func(c *oauth2.Config) { c.RedirectURL = "http://127.1.2.3/cb" }, true},
		{"http on [::1]", func(c *oauth2.Config) { c.AuthURL = "http://[::1]:9/a" }, true},
		{"http on localhost", func(c *oauth2.Config) { c.RedirectURL = "http://localhost:3000/cb" }, true},
		{"identity func instead of userinfo", func(c *oauth2.Config) {
			c.UserInfoURL = ""
			c.Identity = func(context.Context, *provider.Client, *provider.Token) (*provider.Identity, error) { return nil, nil }
		}, true},
		{"no name", func(c *oauth2.Config) { c.Name = "" }, false},
		{"name with slash", func(c *oauth2.Config) { c.Name = "a/b" }, false},
		{"name with space", func(c *oauth2.Config) { c.Name = "a b" }, false},
		{"no client id", func(c *oauth2.Config) { c.ClientID = "" }, false},
		{"no auth URL", func(c *oauth2.Config) { c.AuthURL = "" }, false},
		{"relative token URL", func(c *oauth2.Config) { c.TokenURL = "/token" }, false},
		{"http on a public host", func(c *oauth2.Config) { c.TokenURL = "http://as.example/token" }, false},
		{"http on localhost look-alike", func(c *oauth2.Config) { c.RedirectURL = "http://localhost.evil.example/cb" }, false},
		{"http on 127.0.0.1 look-alike", func(c *oauth2.Config) { c.RedirectURL = "http://127.0.0.1.evil.example/cb" }, false},
		{"ftp", func(c *oauth2.Config) { c.AuthURL = "ftp://as.example/a" }, false},
		{"javascript", func(c *oauth2.Config) { c.RedirectURL = "javascript:alert(1)" }, false},
		{"userinfo in URL", func(c *oauth2.Config) { c.TokenURL = "https://id:secret@as.example/token" }, false},
		{"fragment in redirect", func(c *oauth2.Config) { c.RedirectURL = "https://app.example/cb#x" }, false},
		{"bad refresh URL", func(c *oauth2.Config) { c.RefreshURL = "http://as.example/r" }, false},
		{"bad revocation URL", func(c *oauth2.Config) { c.RevocationURL = "::" }, false},
		{"bad userinfo URL", func(c *oauth2.Config) { c.UserInfoURL = "http://as.example/me" }, false},
		{"no identity source", func(c *oauth2.Config) { c.UserInfoURL = "" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			tc.edit(&cfg)
			a, err := oauth2.New(cfg)
			if tc.ok {
				if err != nil || a == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, oauth2.ErrConfig) || a != nil {
				t.Fatalf("got %v, want ErrConfig", err)
			}
			if strings.Contains(err.Error(), "secret") && !strings.Contains(cfg.TokenURL, "secret") {
				t.Errorf("config error mentions a secret: %v", err)
			}
		})
	}
}

// TestConfigErrorNamesPackageAndField: the engine's errors name the field
// once under "oauth2: invalid config", and a preset's relabelled copy names
// the preset instead, matching both sentinels.
func TestConfigErrorNamesPackageAndField(t *testing.T) {
	t.Parallel()
	preset := errors.New("mypreset: invalid config")
	tests := []struct {
		name      string
		givenEdit func(*oauth2.Config)
		whenPkg   error // nil: the engine's own error
		expectErr string
	}{
		{"engine, missing field", func(c *oauth2.Config) { c.ClientID = "" }, nil, "oauth2: invalid config: ClientID is required"},
		{"engine, bad URL", func(c *oauth2.Config) { c.TokenURL = "/token" }, nil, "oauth2: invalid config: TokenURL must be an absolute URL"},
		{"engine, bad RedirectURL", func(c *oauth2.Config) { c.RedirectURL = "http://app.example/cb" }, nil, `oauth2: invalid config: RedirectURL must use https (http is allowed on loopback hosts only)`},
		{"engine, no identity source", func(c *oauth2.Config) { c.UserInfoURL = "" }, nil, "oauth2: invalid config: UserInfoURL is required unless Identity is set"},
		{"engine, bad API host", func(c *oauth2.Config) { c.APIHosts = []string{"a/b"} }, nil, `oauth2: invalid config: APIHosts: entry "a/b" must be a bare host or host:port`},
		{"preset relabels", func(c *oauth2.Config) { c.ClientID = "" }, preset, "mypreset: invalid config: ClientID is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			tc.givenEdit(&cfg)
			_, err := oauth2.New(cfg)
			if tc.whenPkg != nil {
				err = oauth2.RelabelConfigError(err, tc.whenPkg)
				if !errors.Is(err, tc.whenPkg) {
					t.Errorf("relabelled error %v does not match the preset's sentinel", err)
				}
			}
			var ce *oauth2.ConfigError
			if !errors.Is(err, oauth2.ErrConfig) || !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want an *oauth2.ConfigError matching ErrConfig", err, err)
			}
			if err.Error() != tc.expectErr {
				t.Errorf("error = %q\nwant    %q", err, tc.expectErr)
			}
		})
	}
	other := errors.New("not a config error")
	if got := oauth2.RelabelConfigError(other, preset); got != other {
		t.Errorf("RelabelConfigError changed a non-config error: %v", got)
	}
}

func TestDefaultsAndAccessors(t *testing.T) {
	t.Parallel()
	scopes := []string{"a"}
	cfg := validConfig()
	cfg.Scopes = scopes
	a, err := oauth2.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	scopes[0] = "mutated"
	got := a.Config()
	if got.RefreshURL != cfg.TokenURL || got.ScopeSeparator != " " || got.MapClaims == nil || got.Logger == nil || got.Scopes[0] != "a" {
		t.Errorf("defaults: %+v", got)
	}
	if a.Name() != "gen" || a.Client() == nil || a.Client().Provider != "gen" {
		t.Error("accessors")
	}
}

func TestAuthURL(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.AuthURL = "https://as.example/authorize?tenant=t1"
	cfg.Scopes = []string{"openid", "profile"}
	cfg.AuthParams = url.Values{"prompt": {"consent"}, "client_id": {"evil-static"}}
	a, _ := oauth2.New(cfg)
	challenge := provider.S256Challenge(provider.NewVerifier())
	raw := a.AuthURL(provider.AuthRequest{
		State: "st", CodeChallenge: challenge,
		Params: url.Values{
			"identity_provider": {"google"},
			"client_id":         {"evil"}, "redirect_uri": {"https://evil.example"}, "state": {"evil"},
			"response_type": {"token"}, "scope": {"admin"}, "client_secret": {"leak"},
			"code_challenge": {"evil"}, "code_challenge_method": {"plain"},
		},
	})
	if !strings.HasPrefix(raw, "https://as.example/authorize?tenant=t1&") {
		t.Fatalf("existing query not kept: %s", raw)
	}
	if !strings.Contains(raw, "scope=openid%20profile") || strings.Contains(raw, "+") {
		t.Errorf("scopes must be %%20-joined: %s", raw)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	want := map[string]string{
		"tenant": "t1", "prompt": "consent", "identity_provider": "google",
		"client_id": "id", "redirect_uri": "https://app.example/cb", "state": "st", "response_type": "code",
		"scope": "openid profile", "code_challenge": challenge, "code_challenge_method": "S256",
	}
	for k, v := range want {
		if got := q[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if q.Has("client_secret") || strings.Contains(raw, "sec") {
		t.Errorf("secret in auth URL: %s", raw)
	}

	// Scopes: explicit override, explicit none, custom separator.
	cfg.ScopeSeparator = ","
	b, _ := oauth2.New(cfg)
	if q := mustQuery(t, b.AuthURL(provider.AuthRequest{State: "s", Scopes: []string{"x", "y"}})); q.Get("scope") != "x,y" || q.Has("code_challenge") || q.Has("code_challenge_method") {
		t.Errorf("override scopes / no PKCE: %v", q)
	}
	if q := mustQuery(t, b.AuthURL(provider.AuthRequest{State: "s", Scopes: []string{}, Params: url.Values{"scope": {"admin"}}})); q.Has("scope") {
		t.Errorf("empty scopes must send no scope (and Params must not add one): %v", q)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// recorder is a token endpoint that records requests and answers body.
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	status int
	body   string
	ctype  string
}

type recorded struct {
	method, rawQuery, auth, ctype string
	body                          []byte
	form                          url.Values
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b, form})
	status, body, ctype := rec.status, rec.body, rec.ctype
	rec.mu.Unlock()
	if ctype == "" {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	if status == 0 {
		status = 200
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (rec *recorder) last(t *testing.T) recorded {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		t.Fatal("no request")
	}
	return rec.reqs[len(rec.reqs)-1]
}

func withRecorder(t *testing.T, rec *recorder, edit func(*oauth2.Config)) *oauth2.Adapter {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	cfg := validConfig()
	cfg.TokenURL, cfg.UserInfoURL, cfg.RevocationURL = srv.URL+"/token", srv.URL+"/me", srv.URL+"/revoke"
	cfg.HTTPClient = srv.Client()
	if edit != nil {
		edit(&cfg)
	}
	a, err := oauth2.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const okReply = `{"access_token":"at","token_type":"Bearer","expires_in":60}`

func TestClientAuthentication(t *testing.T) {
	t.Parallel()
	const id, secret = "my client:1", "p@ss w/rd+%&="
	t.Run("basic, form-escaped", func(t *testing.T) {
		rec := &recorder{body: okReply}
		a := withRecorder(t, rec, func(c *oauth2.Config) { c.ClientID, c.ClientSecret = id, secret })
		if _, err := a.Exchange(context.Background(), "c", "v"); err != nil {
			t.Fatal(err)
		}
		r := rec.last(t)
		// RFC 6749 §2.3.1: application/x-www-form-urlencoded, then Basic.
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("my+client%3A1:p%40ss+w%2Frd%2B%25%26%3D"))
		if r.auth != want {
			t.Errorf("Authorization = %q, want %q", r.auth, want)
		}
		if r.form.Has("client_secret") || r.form.Has("client_id") || r.rawQuery != "" {
			t.Errorf("credentials outside the Basic header: %v ?%s", r.form, r.rawQuery)
		}
		if r.form.Get("grant_type") != "authorization_code" || r.form.Get("code") != "c" || r.form.Get("code_verifier") != "v" ||
			r.form.Get("redirect_uri") != "https://app.example/cb" || r.ctype != "application/x-www-form-urlencoded" {
			t.Errorf("exchange body %v (%s)", r.form, r.ctype)
		}
	})
	t.Run("body", func(t *testing.T) {
		rec := &recorder{body: okReply}
		a := withRecorder(t, rec, func(c *oauth2.Config) {
			c.ClientID, c.ClientSecret, c.AuthStyle = id, secret, provider.AuthStyleBody
		})
		if _, err := a.Exchange(context.Background(), "c", ""); err != nil {
			t.Fatal(err)
		}
		r := rec.last(t)
		if r.auth != "" || r.form.Get("client_id") != id || r.form.Get("client_secret") != secret || r.form.Has("code_verifier") || r.rawQuery != "" {
			t.Errorf("body auth: auth=%q form=%v", r.auth, r.form)
		}
	})
	t.Run("public client", func(t *testing.T) {
		rec := &recorder{body: okReply}
		a := withRecorder(t, rec, func(c *oauth2.Config) { c.ClientSecret = "" })
		if _, err := a.Exchange(context.Background(), "c", "v"); err != nil {
			t.Fatal(err)
		}
		if r := rec.last(t); r.auth != "" || r.form.Get("client_id") != "id" || r.form.Has("client_secret") {
			t.Errorf("public: auth=%q form=%v", r.auth, r.form)
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		rec := &recorder{body: okReply}
		a := withRecorder(t, rec, func(c *oauth2.Config) {
			c.AuthStyle, c.Encoding, c.Scopes, c.ScopeInTokenRequests = provider.AuthStyleBody, provider.JSONEncoding, []string{"a", "b"}, true
		})
		tok, err := a.Exchange(context.Background(), `co"de\`, "v")
		if err != nil {
			t.Fatal(err)
		}
		r := rec.last(t)
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil || r.ctype != "application/json" {
			t.Fatalf("not JSON: %s", r.body)
		}
		if m["code"] != `co"de\` || m["client_secret"] != "sec" || m["scope"] != "a b" || m["grant_type"] != "authorization_code" {
			t.Errorf("JSON body %v", m)
		}
		if strings.Join(tok.Scopes, " ") != "a b" {
			t.Errorf("scopes not taken from the request when the reply has none: %v", tok.Scopes)
		}
	})
}

func TestExchangeAndRefreshEdgeCases(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: `{"access_token":"at2","token_type":"Bearer"}`}
	a := withRecorder(t, rec, func(c *oauth2.Config) {
		c.RefreshURL = c.TokenURL + "?refresh"
		c.RedirectURLOnRefresh, c.ScopeInTokenRequests, c.Scopes = true, true, []string{"s"}
	})
	ctx := context.Background()
	if _, err := a.Exchange(ctx, "", "v"); !errors.Is(err, provider.ErrInvalidGrant) || len(rec.reqs) != 0 {
		t.Errorf("empty code: %v, %d calls", err, len(rec.reqs))
	}
	old := &provider.Token{AccessToken: "at1", RefreshToken: "rt1", Scopes: []string{"s", "t"}}
	fresh, err := a.Refresh(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.RefreshToken != "rt1" || strings.Join(fresh.Scopes, " ") != "s t" || fresh.AccessToken != "at2" {
		t.Errorf("refresh must keep the refresh token and scopes when the reply omits them: %v", fresh)
	}
	r := rec.last(t)
	if r.rawQuery != "refresh" || r.form.Get("grant_type") != "refresh_token" || r.form.Get("refresh_token") != "rt1" ||
		r.form.Get("redirect_uri") != "https://app.example/cb" || r.form.Get("scope") != "s" {
		t.Errorf("refresh request %v ?%s", r.form, r.rawQuery)
	}
	old.RefreshToken = ""
	if _, err := a.Refresh(ctx, old); !errors.Is(err, provider.ErrNoRefreshToken) {
		t.Errorf("no refresh token: %v", err)
	}
	if _, err := a.Refresh(ctx, nil); !errors.Is(err, provider.ErrNoRefreshToken) {
		t.Errorf("nil token: %v", err)
	}
	// A bad 200 reply is labelled with provider, op and status.
	rec.mu.Lock()
	rec.body = `{"token_type":"Bearer"}`
	rec.mu.Unlock()
	_, err = a.Exchange(ctx, "c", "v")
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Provider != "gen" || pe.Op != "exchange" || pe.StatusCode != 200 || !errors.Is(err, provider.ErrBadResponse) {
		t.Errorf("bad reply: %#v", err)
	}
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		edit    func(*oauth2.Config)
		want    provider.Identity
		errKind error
	}{
		{name: "oidc claims", body: `{"sub":"u1","name":"Ann","email":"a@x","picture":"https://p"}`,
			want: provider.Identity{Provider: "gen", Subject: "u1", Name: "Ann", Email: "a@x", Picture: "https://p"}},
		{name: "numeric id and login", body: `{"id":12345678901,"login":"ann"}`,
			want: provider.Identity{Provider: "gen", Subject: "12345678901", Name: "ann"}},
		{name: "no subject", body: `{"name":"x"}`, errKind: provider.ErrBadResponse},
		{name: "malformed", body: `{"sub":`, errKind: provider.ErrBadResponse},
		{name: "401", status: 401, body: `{"error":"invalid_token"}`, errKind: provider.ErrUnauthorized},
		{name: "503", status: 503, errKind: provider.ErrUnavailable},
		{name: "custom mapping", body: `{"user":{"uid":"9"}}`, edit: func(c *oauth2.Config) {
			c.MapClaims = func(m map[string]any) (*provider.Identity, error) {
				u, _ := m["user"].(map[string]any)
				return &provider.Identity{Subject: oauth2.ClaimString(u, "uid")}, nil
			}
		}, want: provider.Identity{Provider: "gen", Subject: "9"}},
		{name: "mapping error", body: `{}`, edit: func(c *oauth2.Config) {
			c.MapClaims = func(map[string]any) (*provider.Identity, error) { return nil, errors.New("nope") }
		}, errKind: provider.ErrBadResponse},
		{name: "identity func", edit: func(c *oauth2.Config) {
			c.Identity = func(_ context.Context, cl *provider.Client, tok *provider.Token) (*provider.Identity, error) {
				if cl == nil || tok.AccessToken != "at" {
					return nil, errors.New("bad args")
				}
				return &provider.Identity{Subject: "f", Provider: "spoofed"}, nil
			}
		}, want: provider.Identity{Provider: "gen", Subject: "f"}},
		{name: "identity func returning nil", edit: func(c *oauth2.Config) {
			c.Identity = func(context.Context, *provider.Client, *provider.Token) (*provider.Identity, error) { return nil, nil }
		}, errKind: provider.ErrBadResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{status: tc.status, body: tc.body}
			a := withRecorder(t, rec, tc.edit)
			id, err := a.Identity(context.Background(), &provider.Token{AccessToken: "at", TokenType: "Bearer"})
			if tc.errKind != nil {
				if !errors.Is(err, tc.errKind) {
					t.Fatalf("got %v, want %v", err, tc.errKind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Provider != tc.want.Provider || id.Subject != tc.want.Subject || id.Name != tc.want.Name || id.Email != tc.want.Email || id.Picture != tc.want.Picture {
				t.Errorf("got %+v, want %+v", id, tc.want)
			}
			if tc.edit == nil {
				if r := rec.last(t); r.auth != "Bearer at" || r.method != http.MethodGet || r.rawQuery != "" {
					t.Errorf("userinfo request: %+v", r)
				}
			}
		})
	}
}

func TestClaimString(t *testing.T) {
	t.Parallel()
	var m map[string]any
	_ = json.Unmarshal([]byte(`{"s":"x","f":42,"b":true}`), &m)
	dec := json.NewDecoder(strings.NewReader(`{"n":7}`))
	dec.UseNumber()
	var n map[string]any
	_ = dec.Decode(&n)
	if oauth2.ClaimString(m, "s") != "x" || oauth2.ClaimString(m, "f") != "42" || oauth2.ClaimString(m, "b") != "" ||
		oauth2.ClaimString(m, "missing") != "" || oauth2.ClaimString(n, "n") != "7" {
		t.Error("ClaimString")
	}
}

func TestSetCredential(t *testing.T) {
	t.Parallel()
	a, _ := oauth2.New(validConfig())
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.Header.Set("X-Auth-Token", "browser")
	r.Header.Set("Authorization", "Bearer browser")
	a.SetCredential(r, &provider.Token{AccessToken: "at", TokenType: "bearer"})
	if r.Header.Get("Authorization") != "Bearer at" || r.Header.Get("X-Auth-Token") != "" || len(r.Header["Authorization"]) != 1 {
		t.Errorf("headers %v", r.Header)
	}
	a.SetCredential(r, &provider.Token{AccessToken: "at", TokenType: "Token"})
	if r.Header.Get("Authorization") != "Token at" {
		t.Errorf("custom type: %v", r.Header)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tok := &provider.Token{AccessToken: "at-SECRET", RefreshToken: "rt-SECRET"}
	t.Run("RFC 7009 requests", func(t *testing.T) {
		rec := &recorder{}
		a := withRecorder(t, rec, nil)
		if err := a.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if len(rec.reqs) != 2 {
			t.Fatalf("%d requests", len(rec.reqs))
		}
		for i, want := range []struct{ tok, hint string }{{"rt-SECRET", "refresh_token"}, {"at-SECRET", "access_token"}} {
			r := rec.reqs[i]
			if r.method != http.MethodPost || r.form.Get("token") != want.tok || r.form.Get("token_type_hint") != want.hint ||
				!strings.HasPrefix(r.auth, "Basic ") || r.rawQuery != "" {
				t.Errorf("request %d: %+v", i, r)
			}
		}
	})
	t.Run("access token only", func(t *testing.T) {
		rec := &recorder{}
		a := withRecorder(t, rec, nil)
		if err := a.Revoke(ctx, &provider.Token{AccessToken: "at"}); err != nil || len(rec.reqs) != 1 {
			t.Fatalf("%v, %d requests", err, len(rec.reqs))
		}
	})
	t.Run("unsupported_token_type is done", func(t *testing.T) {
		rec := &recorder{status: 400, body: `{"error":"unsupported_token_type"}`}
		a := withRecorder(t, rec, nil)
		if err := a.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("503 is transient", func(t *testing.T) {
		rec := &recorder{status: 503}
		a := withRecorder(t, rec, nil)
		err := a.Revoke(ctx, tok)
		if !provider.IsTransient(err) || strings.Contains(err.Error(), "rt-SECRET") || strings.Contains(err.Error(), "at-SECRET") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no revocation URL", func(t *testing.T) {
		rec := &recorder{}
		a := withRecorder(t, rec, func(c *oauth2.Config) { c.RevocationURL = "" })
		if err := a.Revoke(ctx, tok); err != nil || len(rec.reqs) != 0 {
			t.Fatalf("%v, %d requests", err, len(rec.reqs))
		}
		if err := a.Revoke(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("against the fake: revoked refresh token is dead", func(t *testing.T) {
		s := newFake(t, oauth2test.Config{})
		a := adapterFor(t, s, nil)
		code, _, err := s.AuthorizeCode(ctx, a.AuthURL(provider.AuthRequest{State: "s"}))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := a.Exchange(ctx, code, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Refresh(ctx, tok); !errors.Is(err, provider.ErrInvalidGrant) {
			t.Errorf("refresh after revoke: %v", err)
		}
		if _, err := a.Identity(ctx, tok); !errors.Is(err, provider.ErrUnauthorized) {
			t.Errorf("identity after revoke: %v", err)
		}
		if n := s.Calls(oauth2test.EndpointRevoke); n != 2 {
			t.Errorf("%d revocation calls", n)
		}
	})
}

func TestExactlyOneCallOnRedirectAndTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newFake(t, oauth2test.Config{})
	a := adapterFor(t, s, func(c *oauth2.Config) { c.Timeout = 100 * time.Millisecond })
	s.Fail(oauth2test.EndpointToken, oauth2test.Failure{Redirect: s.TokenURL()})
	if _, err := a.Exchange(ctx, "c", "v"); !errors.Is(err, provider.ErrBadResponse) {
		t.Errorf("307 from the token endpoint: %v", err)
	}
	if n := s.Calls(oauth2test.EndpointToken); n != 1 {
		t.Errorf("%d token calls after a 307, want 1", n)
	}
	s.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{Hang: true})
	start := time.Now()
	if _, err := a.Refresh(ctx, &provider.Token{RefreshToken: "x"}); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("hang: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("timeout took %v", el)
	}
	if n := s.Calls(oauth2test.EndpointRefresh); n != 1 {
		t.Errorf("%d refresh calls, want exactly 1", n)
	}
}

func TestImplicit(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	if _, err := oauth2.NewImplicit(cfg); !errors.Is(err, oauth2.ErrImplicitNotAllowed) {
		t.Fatalf("implicit without opt-in: %v", err)
	}
	var logs bytes.Buffer
	cfg.AllowImplicit = true
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	cfg.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	a, err := oauth2.NewImplicit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "implicit") {
		t.Errorf("no startup warning: %q", logs.String())
	}
	bad := validConfig()
	bad.AllowImplicit, bad.ClientID = true, ""
	if _, err := oauth2.NewImplicit(bad); !errors.Is(err, oauth2.ErrConfig) {
		t.Errorf("invalid implicit config: %v", err)
	}

	q := mustQuery(t, a.ImplicitAuthURL(provider.AuthRequest{State: "s", CodeChallenge: "c"}))
	if q.Get("response_type") != "token" || q.Has("code_challenge") || q.Get("state") != "s" {
		t.Errorf("implicit auth URL %v", q)
	}

	tok, err := a.TokenFromFragment(url.Values{"access_token": {"at"}, "token_type": {"Bearer"}, "expires_in": {"86400"},
		"scope": {"a,b"}, "state": {"s"}, "refresh_token": {"smuggled"}})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "at" || tok.RefreshToken != "" || !tok.Expiry.Equal(cfg.Now().Add(24*time.Hour)) || strings.Join(tok.Scopes, " ") != "a b" {
		t.Errorf("fragment token %v", tok)
	}
	bads := []struct {
		name string
		v    url.Values
		kind error
	}{
		{"error", url.Values{"error": {"access_denied"}, "error_description": {"no"}}, provider.ErrRejected},
		{"repeated token", url.Values{"access_token": {"a", "b"}, "token_type": {"Bearer"}}, provider.ErrBadResponse},
		{"no token", url.Values{"token_type": {"Bearer"}}, provider.ErrBadResponse},
		{"no type", url.Values{"access_token": {"a"}}, provider.ErrBadResponse},
		{"bad expiry", url.Values{"access_token": {"a"}, "token_type": {"Bearer"}, "expires_in": {"-5"}}, provider.ErrBadResponse},
	}
	for _, b := range bads {
		_, err := a.TokenFromFragment(b.v)
		var pe *provider.Error
		if !errors.Is(err, b.kind) || !errors.As(err, &pe) || pe.Op != "implicit" || pe.Provider != "gen" {
			t.Errorf("%s: %#v", b.name, err)
		}
	}
}
