// Package providertest is the conformance suite for Gatehouse adapters,
// ours and yours, in the manner of testing/slogtest: one call runs every
// check of the provider contract against the adapter and a fake upstream.
//
//	func TestConformance(t *testing.T) {
//		providertest.RunRedirect(t, providertest.RedirectHarness{
//			New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
//				srv := mytest.NewServer(...) // a fake upstream
//				t.Cleanup(srv.Close)
//				a, err := myadapter.New(myadapter.Config{...,
//					HTTPClient: env.Client(srv.Client()), // the suite sees every request
//					Logger:     env.Logger,               // and every log line
//					Timeout:    300 * time.Millisecond,
//				})
//				if err != nil {
//					t.Fatal(err)
//				}
//				return providertest.RedirectFixture{
//					Provider:  a,
//					Authorize: srv.AuthorizeCode,
//					Fail:      func(f providertest.Failure) { srv.FailNext(oauth2test.EndpointToken, string(f)) },
//				}
//			},
//			RedirectURL:  "https://app.example/callback",
//			Scopes:       []string{"read"},
//			ClientSecret: "…",
//			Identity:     provider.Identity{Subject: "user-1"}, // who the fake's user is
//		})
//	}
//
// Each check runs as a subtest with a fresh fixture, so a fake's state
// (single-use codes, injected failures, counters) never leaks between
// checks. The adapter sends its upstream requests through [Env.Client], so
// the suite checks what the fake receives, not only what the adapter
// returns: the PKCE verifier reaches the token endpoint, a rotated refresh
// token is the one the upstream sent, revocation requests go where the
// upstream accepts them. After every subtest the suite scans the URL of
// every request the adapter sent, the errors it returned and everything it
// logged for the secrets of that subtest (access and refresh tokens,
// codes, PKCE verifiers, client secret, password): a single hit fails the
// check.
//
// The package imports only the standard library and provider.
package providertest

import (
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
	// New builds a fresh fixture for one check. The adapter must send its
	// upstream requests through env.Client, log to env.Logger, and use a
	// short timeout (well under MaxWait; 200–500 ms is right) so the
	// timeout check is quick. Required.
	New func(t *testing.T, env *Env) RedirectFixture
	// RedirectURL is the adapter's configured redirect URI; the auth URL
	// must carry it byte for byte. Required.
	RedirectURL string
	// Identity is who the user the fake approves is. The Identity the
	// adapter returns must have this Subject and, where they are set
	// here, this Name, Email and Picture. Subject is required.
	Identity provider.Identity
	// Scopes are requested in the auth URL check; each must appear in the
	// scope parameter. Optional.
	Scopes []string
	// ClientSecret is the adapter's client secret: it must never appear
	// in a URL, an error or a log line. Optional (public clients).
	ClientSecret string
	// RotatesRefreshToken says the fake issues a new refresh token on
	// every refresh; the refreshed Token must carry the one the upstream
	// sent. When false, the refreshed Token must keep the old one.
	RotatesRefreshToken bool
	// NoRevocation says the upstream has no revocation endpoint: Revoke
	// must then succeed without sending anything. Otherwise a Revoke must
	// send at least one request and the upstream must accept each one.
	NoRevocation bool
	// TokenInRevokePath allows the access token in the URL path of the
	// requests Revoke sends, for upstreams whose revocation API takes the
	// token there (wazo-auth: DELETE /token/{token}). Everywhere else a
	// token in a URL still fails.
	TokenInRevokePath bool
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
	New func(t *testing.T, env *Env) PasswordFixture
	// Username and Password are valid credentials at the fake. Required.
	Username, Password string
	// Identity is who Username is (see RedirectHarness.Identity).
	// Subject is required.
	Identity provider.Identity
	// ClientSecret, if the adapter has one, must never leak. Optional.
	ClientSecret string
	// RotatesRefreshToken: see RedirectHarness.
	RotatesRefreshToken bool
	// NoRevocation: see RedirectHarness.
	NoRevocation bool
	// TokenInRevokePath: see RedirectHarness.
	TokenInRevokePath bool
	// MaxWait: see RedirectHarness.
	MaxWait time.Duration
}

// common are the harness fields both flows share.
type common struct {
	identity          provider.Identity
	clientSecret      string
	rotates           bool
	noRevocation      bool
	tokenInRevokePath bool
	maxWait           time.Duration
}

// check is one conformance check. It reports through r and builds its
// fixture with t (a real subtest, for cleanups). RunRedirect and
// RunPassword pass the subtest as both; the package's own tests pass a
// recorder as r, to see the suite fail.
type check func(t *testing.T, r testing.TB)

// runner runs one named check.
type runner func(name string, c check)

// subtests runs each check as a subtest of t.
func subtests(t *testing.T) runner {
	return func(name string, c check) {
		t.Run(name, func(t *testing.T) { c(t, t) })
	}
}

// env is the per-check state: the captured log, the recorded requests and
// the secrets to look for.
type env struct {
	t       *testing.T
	r       testing.TB
	h       common
	logs    *lockedBuffer
	rec     *recorder
	mu      sync.Mutex
	secrets map[string]string // value -> what it is
	errs    []error
}

func newEnv(t *testing.T, r testing.TB, h common) (*env, *Env) {
	if h.maxWait <= 0 {
		h.maxWait = DefaultMaxWait
	}
	e := &env{t: t, r: r, h: h, logs: &lockedBuffer{}, rec: &recorder{}, secrets: map[string]string{}}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.secret("client secret", h.clientSecret)
	return e, &Env{Logger: logger, rec: e.rec}
}

// secret registers a value that must never show up in URLs, errors or
// logs.
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

// scan fails the check when any secret shows in a request URL, an error
// string or the captured log. Checks defer it, so it runs after a Fatal
// too.
func (e *env) scan() {
	e.mu.Lock()
	defer e.mu.Unlock()
	logs := e.logs.String()
	sent := e.rec.since(0)
	for v, what := range e.secrets {
		if strings.Contains(logs, v) {
			e.r.Errorf("the %s appears in the adapter's log output", what)
		}
		for _, err := range e.errs {
			if s := fmt.Sprintf("%v | %+v", err, err); strings.Contains(s, v) {
				e.r.Errorf("the %s appears in an error string: %T", what, err)
			}
		}
		for _, s := range sent {
			forms := urlForms(s.url)
			if s.phase == "revoke" && e.h.tokenInRevokePath && what == "access token" {
				forms = queryForms(s.url)
			}
			for _, f := range forms {
				if strings.Contains(f, v) {
					e.r.Errorf("the %s appears in the URL of a request the adapter sent: %s %s", what, s.method, e.redactLocked(s.url.String()))
					break
				}
			}
		}
	}
}

// redact replaces every registered secret in s by its description.
func (e *env) redact(s string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.redactLocked(s)
}

// redactLocked is redact with e.mu held.
func (e *env) redactLocked(s string) string {
	for v, what := range e.secrets {
		s = strings.ReplaceAll(s, v, "<"+what+">")
		if q := url.QueryEscape(v); q != v {
			s = strings.ReplaceAll(s, q, "<"+what+">")
		}
	}
	return s
}

// queryForms are the URL forms without the path.
func queryForms(u *url.URL) []string {
	q, _ := url.QueryUnescape(u.RawQuery)
	forms := []string{u.RawQuery, q}
	if u.User != nil {
		forms = append(forms, u.User.String())
	}
	return forms
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), e.h.maxWait)
	e.t.Cleanup(cancel)
	return ctx
}

// sentSince returns the requests since mark, and reports when the
// adapter sent none through Env.Client for op.
func (e *env) sentSince(mark int, op string) []*sent {
	s := e.rec.since(mark)
	if len(s) == 0 {
		e.r.Errorf("%s sent no request through Env.Client: give the adapter env.Client(…) as its HTTP client so the suite sees what the upstream receives", op)
	}
	return s
}

// RunRedirect runs the conformance checks of a provider.RedirectProvider.
func RunRedirect(t *testing.T, h RedirectHarness) {
	t.Helper()
	runRedirect(t, h, subtests(t))
}

func runRedirect(top testing.TB, h RedirectHarness, run runner) {
	top.Helper()
	if h.New == nil || h.RedirectURL == "" || h.Identity.Subject == "" {
		top.Fatal("providertest: RedirectHarness.New, RedirectURL and Identity.Subject are required")
	}
	c := common{identity: h.Identity, clientSecret: h.ClientSecret, rotates: h.RotatesRefreshToken,
		noRevocation: h.NoRevocation, tokenInRevokePath: h.TokenInRevokePath, maxWait: h.MaxWait}
	// each runs body in a fresh env and fixture and scans afterwards.
	each := func(name string, body func(r testing.TB, e *env, f RedirectFixture)) {
		run(name, func(t *testing.T, r testing.TB) {
			e, env := newEnv(t, r, c)
			defer e.scan()
			f := h.New(t, env)
			if f.Provider == nil || f.Authorize == nil || f.Fail == nil {
				r.Fatal("providertest: RedirectFixture.Provider, Authorize and Fail are required")
			}
			body(r, e, f)
		})
	}
	login := func(r testing.TB, e *env, f RedirectFixture) (code, verifier string) {
		r.Helper()
		state, verifier := provider.NewState(), provider.NewVerifier()
		e.secret("PKCE verifier", verifier)
		code, got, err := f.Authorize(e.ctx(), f.Provider.AuthURL(provider.AuthRequest{
			State: state, CodeChallenge: provider.S256Challenge(verifier), Scopes: h.Scopes,
		}))
		if err != nil {
			r.Fatalf("authorize at the fake: %v", e.err(err))
		}
		if got != state {
			r.Fatalf("state came back as %q, want the one sent", got)
		}
		e.secret("authorization code", code)
		return code, verifier
	}
	exchange := func(r testing.TB, e *env, f RedirectFixture) *provider.Token {
		r.Helper()
		code, verifier := login(r, e, f)
		mark := e.rec.mark("exchange")
		tok, err := f.Provider.Exchange(e.ctx(), code, verifier)
		e.token(tok)
		if err != nil {
			r.Fatalf("Exchange: %v", e.err(err))
		}
		checkPKCE(r, e.sentSince(mark, "Exchange"), code, verifier)
		return tok
	}

	each("AuthURL", func(r testing.TB, e *env, f RedirectFixture) {
		checkAuthURL(r, e, f.Provider, h)
	})

	each("Exchange", func(r testing.TB, e *env, f RedirectFixture) {
		tok := exchange(r, e, f)
		checkObtained(r, e, f.Provider, tok)
	})

	each("WrongVerifier", func(r testing.TB, e *env, f RedirectFixture) {
		code, _ := login(r, e, f)
		other := provider.NewVerifier()
		e.secret("PKCE verifier", other)
		tok, err := f.Provider.Exchange(e.ctx(), code, other)
		e.token(tok)
		if e.err(err) == nil {
			r.Fatal("Exchange with the wrong PKCE verifier succeeded")
		}
		wantTyped(r, err)
		if provider.IsTransient(err) {
			r.Errorf("wrong verifier reported as transient: %v", err)
		}
	})

	each("ReplayedCode", func(r testing.TB, e *env, f RedirectFixture) {
		code, verifier := login(r, e, f)
		tok, err := f.Provider.Exchange(e.ctx(), code, verifier)
		e.token(tok)
		if err != nil {
			r.Fatalf("first Exchange: %v", e.err(err))
		}
		tok2, err := f.Provider.Exchange(e.ctx(), code, verifier)
		e.token(tok2)
		if !errors.Is(e.err(err), provider.ErrInvalidGrant) {
			r.Fatalf("replayed code: got %v, want ErrInvalidGrant", err)
		}
		wantTyped(r, err)
	})

	each("Refresh", func(r testing.TB, e *env, f RedirectFixture) {
		checkRefresh(r, e, f.Provider, exchange(r, e, f))
	})

	for _, op := range []string{"exchange", "refresh"} {
		for _, fl := range Failures() {
			each("Failure/"+op+"/"+string(fl), func(r testing.TB, e *env, f RedirectFixture) {
				var call func(ctx context.Context) (*provider.Token, error)
				if op == "exchange" {
					code, verifier := login(r, e, f)
					call = func(ctx context.Context) (*provider.Token, error) { return f.Provider.Exchange(ctx, code, verifier) }
				} else {
					tok := exchange(r, e, f)
					call = func(ctx context.Context) (*provider.Token, error) { return f.Provider.Refresh(ctx, tok) }
				}
				f.Fail(fl)
				checkFailure(r, e, fl, call)
			})
		}
	}

	each("Revoke", func(r testing.TB, e *env, f RedirectFixture) {
		checkRevoke(r, e, f.Provider, exchange(r, e, f))
	})
}

// RunPassword runs the conformance checks of a provider.PasswordProvider.
func RunPassword(t *testing.T, h PasswordHarness) {
	t.Helper()
	runPassword(t, h, subtests(t))
}

func runPassword(top testing.TB, h PasswordHarness, run runner) {
	top.Helper()
	if h.New == nil || h.Username == "" || h.Password == "" || h.Identity.Subject == "" {
		top.Fatal("providertest: PasswordHarness.New, Username, Password and Identity.Subject are required")
	}
	c := common{identity: h.Identity, clientSecret: h.ClientSecret, rotates: h.RotatesRefreshToken,
		noRevocation: h.NoRevocation, tokenInRevokePath: h.TokenInRevokePath, maxWait: h.MaxWait}
	each := func(name string, body func(r testing.TB, e *env, f PasswordFixture)) {
		run(name, func(t *testing.T, r testing.TB) {
			e, env := newEnv(t, r, c)
			e.secret("password", h.Password)
			defer e.scan()
			f := h.New(t, env)
			if f.Provider == nil || f.Fail == nil {
				r.Fatal("providertest: PasswordFixture.Provider and Fail are required")
			}
			body(r, e, f)
		})
	}
	login := func(r testing.TB, e *env, f PasswordFixture) *provider.Token {
		r.Helper()
		mark := e.rec.mark("login")
		tok, err := f.Provider.Login(e.ctx(), h.Username, h.Password)
		e.token(tok)
		if err != nil {
			r.Fatalf("Login: %v", e.err(err))
		}
		e.sentSince(mark, "Login")
		return tok
	}

	each("Login", func(r testing.TB, e *env, f PasswordFixture) {
		tok := login(r, e, f)
		checkObtained(r, e, f.Provider, tok)
	})

	each("WrongPassword", func(r testing.TB, e *env, f PasswordFixture) {
		wrong := h.Password + "-wrong"
		e.secret("wrong password", wrong)
		tok, err := f.Provider.Login(e.ctx(), h.Username, wrong)
		e.token(tok)
		if !errors.Is(e.err(err), provider.ErrInvalidCredentials) {
			r.Fatalf("wrong password: got %v, want ErrInvalidCredentials", err)
		}
		wantTyped(r, err)
	})

	each("Refresh", func(r testing.TB, e *env, f PasswordFixture) {
		checkRefresh(r, e, f.Provider, login(r, e, f))
	})

	for _, op := range []string{"login", "refresh"} {
		for _, fl := range Failures() {
			each("Failure/"+op+"/"+string(fl), func(r testing.TB, e *env, f PasswordFixture) {
				call := func(ctx context.Context) (*provider.Token, error) {
					return f.Provider.Login(ctx, h.Username, h.Password)
				}
				if op == "refresh" {
					tok := login(r, e, f)
					call = func(ctx context.Context) (*provider.Token, error) { return f.Provider.Refresh(ctx, tok) }
				}
				f.Fail(fl)
				checkFailure(r, e, fl, call)
			})
		}
	}

	each("Revoke", func(r testing.TB, e *env, f PasswordFixture) {
		checkRevoke(r, e, f.Provider, login(r, e, f))
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
func wantTyped(r testing.TB, err error) {
	r.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind == nil {
		r.Errorf("error %v (%T) is not a *provider.Error with a Kind", err, err)
	}
}

// checkAuthURL checks the authorization URL: flow parameters, PKCE S256,
// scopes, no secret, and Params that cannot override the flow's.
func checkAuthURL(r testing.TB, e *env, p provider.RedirectProvider, h RedirectHarness) {
	r.Helper()
	state, verifier := provider.NewState(), provider.NewVerifier()
	e.secret("PKCE verifier", verifier)
	raw := p.AuthURL(provider.AuthRequest{State: state, CodeChallenge: provider.S256Challenge(verifier), Scopes: h.Scopes})
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		r.Fatalf("AuthURL is not an absolute URL: %v", err)
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
			r.Errorf("auth URL %s = %q, want exactly %q", k, got, v)
		}
	}
	if q.Get("client_id") == "" {
		r.Error("auth URL has no client_id")
	}
	granted := provider.SplitScopes(q.Get("scope"))
	for _, s := range h.Scopes {
		if !contains(granted, s) {
			r.Errorf("auth URL scope %q lacks %q", q.Get("scope"), s)
		}
	}
	if q.Has("client_secret") || (h.ClientSecret != "" && (strings.Contains(raw, url.QueryEscape(h.ClientSecret)) || strings.Contains(raw, h.ClientSecret))) {
		r.Error("auth URL carries the client secret")
	}
	if strings.Contains(raw, verifier) {
		r.Error("auth URL carries the PKCE verifier")
	}
	// Extra params never override what the flow sets.
	evil := p.AuthURL(provider.AuthRequest{State: state, CodeChallenge: want["code_challenge"], Scopes: h.Scopes, Params: url.Values{
		"state": {"evil"}, "redirect_uri": {"https://evil.example/cb"}, "client_secret": {"leak"},
		"code_challenge_method": {"plain"}, "response_type": {"token"},
	}})
	eu, err := url.Parse(evil)
	if err != nil {
		r.Fatalf("AuthURL with Params: %v", err)
	}
	eq := eu.Query()
	for _, k := range []string{"state", "redirect_uri", "code_challenge_method", "response_type"} {
		if got := eq[k]; len(got) != 1 || got[0] != want[k] {
			r.Errorf("AuthRequest.Params overrode %s: %q", k, got)
		}
	}
	if eq.Has("client_secret") {
		r.Error("AuthRequest.Params smuggled a client_secret into the auth URL")
	}
}

// checkPKCE: the code exchange must carry the code and its PKCE verifier
// (RFC 7636 §4.5) in the body of one request to the token endpoint.
func checkPKCE(r testing.TB, sent []*sent, code, verifier string) {
	r.Helper()
	for _, s := range sent {
		c, _ := s.param("code")
		v, _ := s.param("code_verifier")
		if c == code && v == verifier {
			return
		}
	}
	if len(sent) > 0 {
		r.Error("no request Exchange sent carried the code with its PKCE code_verifier in the body (RFC 7636 §4.5): the upstream cannot check PKCE")
	}
}

// checkObtained checks a token set fresh from an exchange or a login: its
// shape, the credential it puts on requests, and the identity it names.
func checkObtained(r testing.TB, e *env, p provider.Provider, tok *provider.Token) {
	r.Helper()
	checkToken(r, tok)
	checkCredential(r, p, tok)
	checkIdentity(r, e, p, tok)
}

// checkIdentity: the token maps to the fake user's identity.
func checkIdentity(r testing.TB, e *env, p provider.Provider, tok *provider.Token) {
	r.Helper()
	id, err := p.Identity(e.ctx(), tok)
	if err != nil {
		r.Fatalf("Identity: %v", e.err(err))
	}
	want := e.h.identity
	if id == nil {
		r.Fatal("Identity returned no identity and no error")
	}
	if id.Provider != p.Name() {
		r.Errorf("Identity.Provider = %q, want the adapter's Name %q", id.Provider, p.Name())
	}
	for _, f := range []struct{ field, got, want string }{
		{"Subject", id.Subject, want.Subject}, {"Name", id.Name, want.Name},
		{"Email", id.Email, want.Email}, {"Picture", id.Picture, want.Picture},
	} {
		if f.want != "" && f.got != f.want {
			r.Errorf("Identity.%s = %q, want %q (the fake user's)", f.field, f.got, f.want)
		}
	}
}

func checkToken(r testing.TB, tok *provider.Token) {
	r.Helper()
	if tok == nil || tok.AccessToken == "" {
		r.Fatal("token has no access token")
	}
	if tok.TokenType == "" {
		r.Error("token has no type")
	}
	if !tok.Valid() {
		r.Errorf("fresh token is not valid (expiry %v)", tok.Expiry)
	}
	for _, s := range []string{tok.String(), fmt.Sprintf("%v %+v %#v %s %q", tok, tok, tok, tok, tok)} {
		if strings.Contains(s, tok.AccessToken) || (tok.RefreshToken != "" && strings.Contains(s, tok.RefreshToken)) {
			r.Error("a token value shows when the Token is printed")
		}
	}
}

// checkCredential: SetCredential must put the access token in a header,
// replace a credential the browser sent, and keep it out of the URL.
func checkCredential(r testing.TB, p provider.Provider, tok *provider.Token) {
	r.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://api.example/resource?x=1", nil)
	req.Header.Set("Authorization", "Bearer browser-supplied")
	req.Header.Set("X-Auth-Token", "browser-supplied")
	p.SetCredential(req, tok)
	found := false
	for k, vs := range req.Header {
		for _, v := range vs {
			if strings.Contains(v, "browser-supplied") {
				r.Errorf("SetCredential kept the inbound %s header", k)
			}
			if strings.Contains(v, tok.AccessToken) {
				found = true
			}
		}
	}
	if !found {
		r.Error("SetCredential put the access token in no header")
	}
	if strings.Contains(req.URL.String(), tok.AccessToken) {
		r.Error("SetCredential put the access token in the URL")
	}
}

func checkRefresh(r testing.TB, e *env, p provider.Provider, tok *provider.Token) {
	r.Helper()
	if tok.RefreshToken == "" {
		r.Fatal("the token set has no refresh token to test refresh with")
	}
	before := tok.Clone()
	mark := e.rec.mark("refresh")
	fresh, err := p.Refresh(e.ctx(), tok)
	e.token(fresh)
	if err != nil {
		r.Fatalf("Refresh: %v", e.err(err))
	}
	sent := e.sentSince(mark, "Refresh")
	checkToken(r, fresh)
	if fresh.AccessToken == tok.AccessToken {
		r.Error("Refresh returned the old access token")
	}
	if tok.AccessToken != before.AccessToken || tok.RefreshToken != before.RefreshToken {
		r.Error("Refresh modified the token it was given")
	}
	switch {
	case e.h.rotates && (fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken):
		r.Error("the upstream rotated the refresh token but the refreshed Token does not carry the new one")
	case e.h.rotates && len(sent) > 0 && !anyReplyHas(sent, fresh.RefreshToken):
		r.Error("the refreshed Token's refresh token is not the one the upstream sent in its refresh reply")
	case !e.h.rotates && fresh.RefreshToken != tok.RefreshToken:
		r.Error("the refreshed Token lost or changed the refresh token the upstream did not rotate (RFC 6749 §6)")
	}
	checkIdentity(r, e, p, fresh)
	// A second refresh with the fresh token works too.
	again, err := p.Refresh(e.ctx(), fresh)
	e.token(again)
	if err != nil {
		r.Fatalf("second Refresh: %v", e.err(err))
	}
	// A dead refresh token is ErrInvalidGrant; none at all ErrNoRefreshToken.
	dead := fresh.Clone()
	dead.RefreshToken = "providertest-unknown-refresh-token"
	e.secret("refresh token", dead.RefreshToken)
	if _, err := p.Refresh(e.ctx(), dead); !errors.Is(e.err(err), provider.ErrInvalidGrant) {
		r.Errorf("unknown refresh token: got %v, want ErrInvalidGrant", err)
	} else {
		wantTyped(r, err)
	}
	none := fresh.Clone()
	none.RefreshToken = ""
	if _, err := p.Refresh(e.ctx(), none); !errors.Is(e.err(err), provider.ErrNoRefreshToken) {
		r.Errorf("no refresh token: got %v, want ErrNoRefreshToken", err)
	}
}

func anyReplyHas(sent []*sent, v string) bool {
	for _, s := range sent {
		if strings.Contains(s.reply.String(), v) {
			return true
		}
	}
	return false
}

func checkFailure(r testing.TB, e *env, fl Failure, call func(context.Context) (*provider.Token, error)) {
	r.Helper()
	want := provider.ErrUnavailable
	if fl == FailMalformed || fl == FailOversized {
		want = provider.ErrBadResponse
	}
	start := time.Now()
	tok, err := call(e.ctx())
	e.token(tok)
	if tok != nil {
		r.Errorf("%s: got a token along with error %v", fl, err)
	}
	if !errors.Is(e.err(err), want) {
		r.Fatalf("%s: got %v, want %v", fl, err, want)
	}
	wantTyped(r, err)
	if el := time.Since(start); el >= e.h.maxWait {
		r.Errorf("%s: took %v; configure a short adapter timeout", fl, el)
	}
}

// checkRevoke: Revoke reaches an endpoint the upstream accepts (each
// request answered 2xx, or 400 unsupported_token_type, RFC 7009 §2.2),
// sends nothing when the upstream has no revocation, and is idempotent.
func checkRevoke(r testing.TB, e *env, p provider.Provider, tok *provider.Token) {
	r.Helper()
	rv, ok := p.(provider.Revoker)
	if !ok {
		return // revocation is optional; nothing to check
	}
	mark := e.rec.mark("revoke")
	if err := rv.Revoke(e.ctx(), tok); err != nil {
		r.Fatalf("Revoke: %v", e.err(err))
	}
	sent := e.rec.since(mark)
	switch {
	case e.h.noRevocation && len(sent) > 0:
		r.Errorf("Revoke sent %d requests although the upstream has no revocation (NoRevocation)", len(sent))
	case !e.h.noRevocation && len(sent) == 0:
		r.Error("Revoke sent no request through Env.Client, so the tokens stay valid upstream (set NoRevocation if the upstream has no revocation)")
	}
	for _, s := range sent {
		accepted := s.status >= 200 && s.status < 300 ||
			s.status == http.StatusBadRequest && strings.Contains(s.reply.String(), "unsupported_token_type")
		if !accepted {
			r.Errorf("Revoke sent %s %s and the upstream answered %d: wrong endpoint or method", s.method, e.redact(s.url.Host+s.url.EscapedPath()), s.status)
		}
	}
	if err := rv.Revoke(e.ctx(), tok); err != nil {
		r.Errorf("Revoke of an already revoked token must succeed: %v", e.err(err))
	}
}
