// Package providertest is the conformance suite for Gatehouse adapters,
// ours and yours, in the manner of testing/slogtest: one call runs every
// check of the provider contract against the adapter and a fake upstream.
//
//	func TestConformance(t *testing.T) {
//		providertest.RunRedirect(t, providertest.RedirectHarness{
//			New: func(t *testing.T, logger *slog.Logger) providertest.RedirectFixture {
//				srv := mytest.NewServer(...) // a fake upstream
//				t.Cleanup(srv.Close)
//				a, err := myadapter.New(myadapter.Config{..., Timeout: 300 * time.Millisecond, Logger: logger})
//				if err != nil {
//					t.Fatal(err)
//				}
//				return providertest.RedirectFixture{
//					Provider:  a,
//					Authorize: srv.AuthorizeCode,
//					Fail:      func(f providertest.Failure) { srv.FailNext(oauth2test.EndpointToken, string(f)) },
//				}
//			},
//			RedirectURL: "https://app.example/callback",
//			Scopes:      []string{"read"},
//			ClientSecret: "…",
//		})
//	}
//
// Each check runs as a subtest with a fresh fixture, so a fake's state
// (single-use codes, injected failures, counters) never leaks between
// checks. After every subtest the suite scans the errors the adapter
// returned and everything it logged for the secrets of that subtest (access
// and refresh tokens, codes, PKCE verifiers, client secret, password): a
// single hit fails the check.
//
// The package imports only the standard library and provider.
package providertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// Failure is a fault the suite asks the fake to inject into the next token
// endpoint call (code exchange, refresh or password login). The values
// match the oauth2test Fault constants.
type Failure string

// Failures the suite injects.
const (
	// FailUnavailable: answer 503 (the adapter must return ErrUnavailable).
	FailUnavailable Failure = "unavailable"
	// FailTimeout: never answer (the adapter's timeout must fire and give
	// ErrUnavailable).
	FailTimeout Failure = "timeout"
	// FailMalformed: answer 200 with broken JSON (ErrBadResponse).
	FailMalformed Failure = "malformed"
	// FailOversized: answer 200 with more than 1 MiB (ErrBadResponse).
	FailOversized Failure = "oversized"
)

// Failures lists every Failure, in the order the suite uses them.
func Failures() []Failure {
	return []Failure{FailUnavailable, FailTimeout, FailMalformed, FailOversized}
}

// DefaultMaxWait is the default of the harnesses' MaxWait.
const DefaultMaxWait = 10 * time.Second

// RedirectFixture is one adapter wired to one fake upstream.
type RedirectFixture struct {
	// Provider is the adapter under test. Required.
	Provider provider.RedirectProvider
	// Authorize completes an authorization at the fake for authURL (a
	// URL from Provider.AuthURL) and returns the code and state the
	// browser would bring back, e.g. oauth2test.Server.AuthorizeCode.
	// Required.
	Authorize func(ctx context.Context, authURL string) (code, state string, err error)
	// Fail makes the next token endpoint call (exchange or refresh) fail
	// as f says. Required.
	Fail func(f Failure)
}

// RedirectHarness describes an authorization-code adapter to check.
type RedirectHarness struct {
	// New builds a fresh fixture for one check. The adapter must log to
	// logger and use a short timeout (well under MaxWait; 200–500 ms is
	// right) so the timeout check is quick. Required.
	New func(t *testing.T, logger *slog.Logger) RedirectFixture
	// RedirectURL is the adapter's configured redirect URI; the auth URL
	// must carry it byte for byte. Required.
	RedirectURL string
	// Scopes are requested in the auth URL check; each must appear in the
	// scope parameter. Optional.
	Scopes []string
	// ClientSecret is the adapter's client secret: it must never appear
	// in a URL, an error or a log line. Optional (public clients).
	ClientSecret string
	// RotatesRefreshToken says the fake issues a new refresh token on
	// every refresh; the refreshed Token must carry it. When false, the
	// refreshed Token must keep the old one.
	RotatesRefreshToken bool
	// MaxWait bounds how long one failing call may take. Default:
	// DefaultMaxWait.
	MaxWait time.Duration
}

// PasswordFixture is one password adapter wired to one fake upstream.
type PasswordFixture struct {
	// Provider is the adapter under test. Required.
	Provider provider.PasswordProvider
	// Fail makes the next token endpoint call (login or refresh) fail as
	// f says. Required.
	Fail func(f Failure)
}

// PasswordHarness describes a password-login adapter to check.
type PasswordHarness struct {
	// New builds a fresh fixture for one check (see RedirectHarness.New).
	// Required.
	New func(t *testing.T, logger *slog.Logger) PasswordFixture
	// Username and Password are valid credentials at the fake. Required.
	Username, Password string
	// ClientSecret, if the adapter has one, must never leak. Optional.
	ClientSecret string
	// RotatesRefreshToken: see RedirectHarness.
	RotatesRefreshToken bool
	// MaxWait: see RedirectHarness.
	MaxWait time.Duration
}

// env is the per-check state: the captured log and the secrets to look
// for.
type env struct {
	t       *testing.T
	logs    *lockedBuffer
	mu      sync.Mutex
	secrets map[string]string // value -> what it is
	errs    []error
	maxWait time.Duration
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newEnv(t *testing.T, maxWait time.Duration) (*env, *slog.Logger) {
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	e := &env{t: t, logs: &lockedBuffer{}, secrets: map[string]string{}, maxWait: maxWait}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(e.scan)
	return e, logger
}

// secret registers a value that must never show up in errors or logs.
func (e *env) secret(what, v string) {
	if len(v) < 4 { // too short to search for meaningfully
		return
	}
	e.mu.Lock()
	e.secrets[v] = what
	e.mu.Unlock()
}

func (e *env) token(tok *provider.Token) {
	if tok != nil {
		e.secret("access token", tok.AccessToken)
		e.secret("refresh token", tok.RefreshToken)
	}
}

// err records an error for the final scan and returns it.
func (e *env) err(err error) error {
	if err != nil {
		e.mu.Lock()
		e.errs = append(e.errs, err)
		e.mu.Unlock()
	}
	return err
}

// scan fails the test when any secret shows in an error string or in the
// captured log.
func (e *env) scan() {
	e.mu.Lock()
	defer e.mu.Unlock()
	logs := e.logs.String()
	for v, what := range e.secrets {
		if strings.Contains(logs, v) {
			e.t.Errorf("the %s appears in the adapter's log output", what)
		}
		for _, err := range e.errs {
			if s := fmt.Sprintf("%v | %+v", err, err); strings.Contains(s, v) {
				e.t.Errorf("the %s appears in an error string: %T", what, err)
			}
		}
	}
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), e.maxWait)
	e.t.Cleanup(cancel)
	return ctx
}

// RunRedirect runs the conformance checks of a provider.RedirectProvider.
func RunRedirect(t *testing.T, h RedirectHarness) {
	t.Helper()
	if h.New == nil || h.RedirectURL == "" {
		t.Fatal("providertest: RedirectHarness.New and RedirectURL are required")
	}
	setup := func(t *testing.T) (*env, RedirectFixture) {
		e, logger := newEnv(t, h.MaxWait)
		f := h.New(t, logger)
		if f.Provider == nil || f.Authorize == nil || f.Fail == nil {
			t.Fatal("providertest: RedirectFixture.Provider, Authorize and Fail are required")
		}
		e.secret("client secret", h.ClientSecret)
		return e, f
	}
	login := func(t *testing.T, e *env, f RedirectFixture) (code, verifier string) {
		t.Helper()
		state, verifier := provider.NewState(), provider.NewVerifier()
		e.secret("PKCE verifier", verifier)
		code, got, err := f.Authorize(e.ctx(), f.Provider.AuthURL(provider.AuthRequest{
			State: state, CodeChallenge: provider.S256Challenge(verifier), Scopes: h.Scopes,
		}))
		if err != nil {
			t.Fatalf("authorize at the fake: %v", e.err(err))
		}
		if got != state {
			t.Fatalf("state came back as %q, want the one sent", got)
		}
		e.secret("authorization code", code)
		return code, verifier
	}
	exchange := func(t *testing.T, e *env, f RedirectFixture) *provider.Token {
		t.Helper()
		code, verifier := login(t, e, f)
		tok, err := f.Provider.Exchange(e.ctx(), code, verifier)
		e.token(tok)
		if err != nil {
			t.Fatalf("Exchange: %v", e.err(err))
		}
		return tok
	}

	t.Run("AuthURL", func(t *testing.T) {
		e, f := setup(t)
		state, verifier := provider.NewState(), provider.NewVerifier()
		e.secret("PKCE verifier", verifier)
		raw := f.Provider.AuthURL(provider.AuthRequest{State: state, CodeChallenge: provider.S256Challenge(verifier), Scopes: h.Scopes})
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() {
			t.Fatalf("AuthURL is not an absolute URL: %v", err)
		}
		q := u.Query()
		sum := sha256.Sum256([]byte(verifier))
		want := map[string]string{
			"state":                 state,
			"response_type":         "code",
			"code_challenge":        base64.RawURLEncoding.EncodeToString(sum[:]),
			"code_challenge_method": "S256",
			"redirect_uri":          h.RedirectURL,
		}
		for k, v := range want {
			if got := q[k]; len(got) != 1 || got[0] != v {
				t.Errorf("auth URL %s = %q, want exactly %q", k, got, v)
			}
		}
		if c := q.Get("code_challenge"); len(c) != 43 {
			t.Errorf("code_challenge has %d characters, want 43", len(c))
		}
		if q.Get("client_id") == "" {
			t.Error("auth URL has no client_id")
		}
		granted := provider.SplitScopes(q.Get("scope"))
		for _, s := range h.Scopes {
			if !contains(granted, s) {
				t.Errorf("auth URL scope %q lacks %q", q.Get("scope"), s)
			}
		}
		if q.Has("client_secret") || (h.ClientSecret != "" && strings.Contains(raw, url.QueryEscape(h.ClientSecret))) ||
			(h.ClientSecret != "" && strings.Contains(raw, h.ClientSecret)) {
			t.Error("auth URL carries the client secret")
		}
		if strings.Contains(raw, verifier) {
			t.Error("auth URL carries the PKCE verifier")
		}
		// Extra params never override what the flow sets.
		evil := f.Provider.AuthURL(provider.AuthRequest{State: state, CodeChallenge: want["code_challenge"], Scopes: h.Scopes, Params: url.Values{
			"state": {"evil"}, "redirect_uri": {"https://evil.example/cb"}, "client_secret": {"leak"},
			"code_challenge_method": {"plain"}, "response_type": {"token"},
		}})
		eu, err := url.Parse(evil)
		if err != nil {
			t.Fatalf("AuthURL with Params: %v", err)
		}
		eq := eu.Query()
		for _, k := range []string{"state", "redirect_uri", "code_challenge_method", "response_type"} {
			if got := eq[k]; len(got) != 1 || got[0] != want[k] {
				t.Errorf("AuthRequest.Params overrode %s: %q", k, got)
			}
		}
		if eq.Has("client_secret") {
			t.Error("AuthRequest.Params smuggled a client_secret into the auth URL")
		}
	})

	t.Run("Exchange", func(t *testing.T) {
		e, f := setup(t)
		tok := exchange(t, e, f)
		checkObtained(t, e, f.Provider, tok)
	})

	t.Run("WrongVerifier", func(t *testing.T) {
		e, f := setup(t)
		code, _ := login(t, e, f)
		other := provider.NewVerifier()
		e.secret("PKCE verifier", other)
		tok, err := f.Provider.Exchange(e.ctx(), code, other)
		e.token(tok)
		if e.err(err) == nil {
			t.Fatal("Exchange with the wrong PKCE verifier succeeded")
		}
		wantTyped(t, err)
		if provider.IsTransient(err) {
			t.Errorf("wrong verifier reported as transient: %v", err)
		}
	})

	t.Run("ReplayedCode", func(t *testing.T) {
		e, f := setup(t)
		code, verifier := login(t, e, f)
		tok, err := f.Provider.Exchange(e.ctx(), code, verifier)
		e.token(tok)
		if err != nil {
			t.Fatalf("first Exchange: %v", e.err(err))
		}
		tok2, err := f.Provider.Exchange(e.ctx(), code, verifier)
		e.token(tok2)
		if !errors.Is(e.err(err), provider.ErrInvalidGrant) {
			t.Fatalf("replayed code: got %v, want ErrInvalidGrant", err)
		}
		wantTyped(t, err)
	})

	t.Run("Refresh", func(t *testing.T) {
		e, f := setup(t)
		checkRefresh(t, e, f.Provider, exchange(t, e, f), h.RotatesRefreshToken)
	})

	for _, op := range []string{"exchange", "refresh"} {
		for _, fl := range Failures() {
			t.Run("Failure/"+op+"/"+string(fl), func(t *testing.T) {
				e, f := setup(t)
				var call func(ctx context.Context) (*provider.Token, error)
				if op == "exchange" {
					code, verifier := login(t, e, f)
					call = func(ctx context.Context) (*provider.Token, error) { return f.Provider.Exchange(ctx, code, verifier) }
				} else {
					tok := exchange(t, e, f)
					call = func(ctx context.Context) (*provider.Token, error) { return f.Provider.Refresh(ctx, tok) }
				}
				f.Fail(fl)
				checkFailure(t, e, fl, call)
			})
		}
	}

	t.Run("Revoke", func(t *testing.T) {
		e, f := setup(t)
		checkRevoke(t, e, f.Provider, exchange(t, e, f))
	})
}

// RunPassword runs the conformance checks of a provider.PasswordProvider.
func RunPassword(t *testing.T, h PasswordHarness) {
	t.Helper()
	if h.New == nil || h.Username == "" || h.Password == "" {
		t.Fatal("providertest: PasswordHarness.New, Username and Password are required")
	}
	setup := func(t *testing.T) (*env, PasswordFixture) {
		e, logger := newEnv(t, h.MaxWait)
		f := h.New(t, logger)
		if f.Provider == nil || f.Fail == nil {
			t.Fatal("providertest: PasswordFixture.Provider and Fail are required")
		}
		e.secret("client secret", h.ClientSecret)
		e.secret("password", h.Password)
		return e, f
	}
	login := func(t *testing.T, e *env, f PasswordFixture) *provider.Token {
		t.Helper()
		tok, err := f.Provider.Login(e.ctx(), h.Username, h.Password)
		e.token(tok)
		if err != nil {
			t.Fatalf("Login: %v", e.err(err))
		}
		return tok
	}

	t.Run("Login", func(t *testing.T) {
		e, f := setup(t)
		tok := login(t, e, f)
		checkObtained(t, e, f.Provider, tok)
	})

	t.Run("WrongPassword", func(t *testing.T) {
		e, f := setup(t)
		wrong := h.Password + "-wrong"
		e.secret("wrong password", wrong)
		tok, err := f.Provider.Login(e.ctx(), h.Username, wrong)
		e.token(tok)
		if !errors.Is(e.err(err), provider.ErrInvalidCredentials) {
			t.Fatalf("wrong password: got %v, want ErrInvalidCredentials", err)
		}
		wantTyped(t, err)
	})

	t.Run("Refresh", func(t *testing.T) {
		e, f := setup(t)
		checkRefresh(t, e, f.Provider, login(t, e, f), h.RotatesRefreshToken)
	})

	for _, op := range []string{"login", "refresh"} {
		for _, fl := range Failures() {
			t.Run("Failure/"+op+"/"+string(fl), func(t *testing.T) {
				e, f := setup(t)
				call := func(ctx context.Context) (*provider.Token, error) {
					return f.Provider.Login(ctx, h.Username, h.Password)
				}
				if op == "refresh" {
					tok := login(t, e, f)
					call = func(ctx context.Context) (*provider.Token, error) { return f.Provider.Refresh(ctx, tok) }
				}
				f.Fail(fl)
				checkFailure(t, e, fl, call)
			})
		}
	}

	t.Run("Revoke", func(t *testing.T) {
		e, f := setup(t)
		checkRevoke(t, e, f.Provider, login(t, e, f))
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// wantTyped checks that err is a *provider.Error with a Kind.
func wantTyped(t *testing.T, err error) {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind == nil {
		t.Errorf("error %v (%T) is not a *provider.Error with a Kind", err, err)
	}
}

// checkObtained checks a token set fresh from an exchange or a login: its
// shape, the credential it puts on requests, and the identity it names.
func checkObtained(t *testing.T, e *env, p provider.Provider, tok *provider.Token) {
	t.Helper()
	checkToken(t, tok)
	checkCredential(t, p, tok)
	id, err := p.Identity(e.ctx(), tok)
	if err != nil {
		t.Fatalf("Identity: %v", e.err(err))
	}
	if id.Subject == "" || id.Provider != p.Name() {
		t.Errorf("Identity = %+v: want a subject and Provider %q", id, p.Name())
	}
}

func checkToken(t *testing.T, tok *provider.Token) {
	t.Helper()
	if tok == nil || tok.AccessToken == "" {
		t.Fatal("token has no access token")
	}
	if tok.TokenType == "" {
		t.Error("token has no type")
	}
	if !tok.Valid() {
		t.Errorf("fresh token is not valid (expiry %v)", tok.Expiry)
	}
	for _, s := range []string{tok.String(), fmt.Sprintf("%v %+v %#v %s %q", tok, tok, tok, tok, tok)} {
		if strings.Contains(s, tok.AccessToken) || (tok.RefreshToken != "" && strings.Contains(s, tok.RefreshToken)) {
			t.Error("a token value shows when the Token is printed")
		}
	}
}

// checkCredential: SetCredential must put the access token in a header,
// replace a credential the browser sent, and keep it out of the URL.
func checkCredential(t *testing.T, p provider.Provider, tok *provider.Token) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, "https://api.example/resource?x=1", nil)
	r.Header.Set("Authorization", "Bearer browser-supplied")
	r.Header.Set("X-Auth-Token", "browser-supplied")
	p.SetCredential(r, tok)
	found := false
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, "browser-supplied") {
				t.Errorf("SetCredential kept the inbound %s header", k)
			}
			if strings.Contains(v, tok.AccessToken) {
				found = true
			}
		}
	}
	if !found {
		t.Error("SetCredential put the access token in no header")
	}
	if strings.Contains(r.URL.String(), tok.AccessToken) {
		t.Error("SetCredential put the access token in the URL")
	}
}

func checkRefresh(t *testing.T, e *env, p provider.Provider, tok *provider.Token, rotates bool) {
	t.Helper()
	if tok.RefreshToken == "" {
		t.Fatal("the token set has no refresh token to test refresh with")
	}
	before := tok.Clone()
	fresh, err := p.Refresh(e.ctx(), tok)
	e.token(fresh)
	if err != nil {
		t.Fatalf("Refresh: %v", e.err(err))
	}
	checkToken(t, fresh)
	if fresh.AccessToken == tok.AccessToken {
		t.Error("Refresh returned the old access token")
	}
	if tok.AccessToken != before.AccessToken || tok.RefreshToken != before.RefreshToken {
		t.Error("Refresh modified the token it was given")
	}
	switch {
	case rotates && (fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken):
		t.Error("the upstream rotated the refresh token but the refreshed Token does not carry the new one")
	case !rotates && fresh.RefreshToken != tok.RefreshToken:
		t.Error("the refreshed Token lost or changed the refresh token the upstream did not rotate (RFC 6749 §6)")
	}
	// A second refresh with the fresh token works too.
	again, err := p.Refresh(e.ctx(), fresh)
	e.token(again)
	if err != nil {
		t.Fatalf("second Refresh: %v", e.err(err))
	}
	// A dead refresh token is ErrInvalidGrant; none at all ErrNoRefreshToken.
	dead := fresh.Clone()
	dead.RefreshToken = "providertest-unknown-refresh-token"
	if _, err := p.Refresh(e.ctx(), dead); !errors.Is(e.err(err), provider.ErrInvalidGrant) {
		t.Errorf("unknown refresh token: got %v, want ErrInvalidGrant", err)
	} else {
		wantTyped(t, err)
	}
	none := fresh.Clone()
	none.RefreshToken = ""
	if _, err := p.Refresh(e.ctx(), none); !errors.Is(e.err(err), provider.ErrNoRefreshToken) {
		t.Errorf("no refresh token: got %v, want ErrNoRefreshToken", err)
	}
}

func checkFailure(t *testing.T, e *env, fl Failure, call func(context.Context) (*provider.Token, error)) {
	t.Helper()
	want := provider.ErrUnavailable
	if fl == FailMalformed || fl == FailOversized {
		want = provider.ErrBadResponse
	}
	start := time.Now()
	tok, err := call(e.ctx())
	e.token(tok)
	if tok != nil {
		t.Errorf("%s: got a token along with error %v", fl, err)
	}
	if !errors.Is(e.err(err), want) {
		t.Fatalf("%s: got %v, want %v", fl, err, want)
	}
	wantTyped(t, err)
	if el := time.Since(start); el >= e.maxWait {
		t.Errorf("%s: took %v; configure a short adapter timeout", fl, el)
	}
}

func checkRevoke(t *testing.T, e *env, p provider.Provider, tok *provider.Token) {
	t.Helper()
	r, ok := p.(provider.Revoker)
	if !ok {
		return // revocation is optional; nothing to check
	}
	if err := r.Revoke(e.ctx(), tok); err != nil {
		t.Fatalf("Revoke: %v", e.err(err))
	}
	if err := r.Revoke(e.ctx(), tok); err != nil {
		t.Errorf("Revoke of an already revoked token must succeed: %v", e.err(err))
	}
}
