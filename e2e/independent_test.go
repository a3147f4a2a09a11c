package e2e

// Gatehouse's generic adapter (adapters/oauth2) against
// github.com/go-oauth2/oauth2/v4's authorization server. Where that library
// departs from RFC 6749 / RFC 7636, TestIndependentAS_Deviations pins what
// it does and what Gatehouse makes of it, so that an upgrade that changes
// either shows up here.

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

// indieLogin runs the front half of a redirect login against as: a fresh state
// and verifier, the authorize redirect, and returns code, state, verifier.
func indieLogin(t testing.TB, as *indieAS, a interface {
	AuthURL(provider.AuthRequest) string
}, redirect string) (code, verifier string) {
	t.Helper()
	state, verifier := provider.NewState(), provider.NewVerifier()
	authURL := a.AuthURL(provider.AuthRequest{State: state, CodeChallenge: provider.S256Challenge(verifier)})
	q := as.authorize(t, authURL, redirect)
	if e := q.Get("error"); e != "" {
		t.Fatalf("authorize answered error=%s (%s)", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		t.Fatalf("state not echoed: got %q", q.Get("state"))
	}
	if q.Get("code") == "" {
		t.Fatal("no code in the authorize redirect")
	}
	return q.Get("code"), verifier
}

// asProviderError unwraps err as a *provider.Error or fails.
func asProviderError(t testing.TB, err error) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	return pe
}

// wantKind checks err matches kind, carries the OAuth error code and HTTP
// status, and that its text leaks none of the planted secrets.
func wantKind(t testing.TB, leaks *harness.LeakScanner, err, kind error, code string, status int) *provider.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %q does not match %v", err, kind)
	}
	pe := asProviderError(t, err)
	if pe.Code != code || pe.StatusCode != status {
		t.Fatalf("error code %q HTTP %d, want %q HTTP %d", pe.Code, pe.StatusCode, code, status)
	}
	if code != "" && !strings.Contains(err.Error(), code) {
		t.Fatalf("error text %q does not name %q", err, code)
	}
	if got := leaks.ScanError("typed error", err); len(got) > 0 {
		t.Fatalf("error text leaks %v", got)
	}
	return pe
}

func TestIndependentAS_CodeFlowWithPKCE(t *testing.T) {
	harness.GoroutineBaseline(t, harness.IgnoreBuntDB)
	logs := harness.NewLogCapture()
	leaks := harness.NewLeakScanner()
	leaks.Plant("client_secret", indieSecret)
	as := newIndieAS(t, indieOptions{})
	a := newIndieAdapter(t, as.adapterConfig(t, logs))

	state, verifier := provider.NewState(), provider.NewVerifier()
	leaks.Plant("pkce_verifier", verifier)
	authURL := a.AuthURL(provider.AuthRequest{State: state, CodeChallenge: provider.S256Challenge(verifier)})
	leaks.ScanString("authorize URL", authURL)
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method"} {
		if !hasQueryParam(authURL, k) {
			t.Errorf("authorize URL lacks %s", k)
		}
	}

	q := as.authorize(t, authURL, indieRedirectURI)
	if q.Get("state") != state || q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("authorize redirect query %v: want our state and a code", q)
	}
	start := time.Now()
	tok, err := a.Exchange(t.Context(), q.Get("code"), verifier)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	leaks.Plant("access_token", tok.AccessToken)
	leaks.Plant("refresh_token", tok.RefreshToken)
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" {
		t.Fatalf("token %v: want Bearer with a refresh token", tok)
	}
	// The library's default code-grant access token lives 2 h; the expiry
	// is computed from local receipt time.
	if d := tok.Expiry.Sub(start); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
		t.Fatalf("expiry in %v, want about 2h", d)
	}
	if !slices.Equal(tok.Scopes, []string{"profile", "email"}) {
		t.Fatalf("scopes %v, want [profile email]", tok.Scopes)
	}

	id, err := a.Identity(t.Context(), tok)
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	if id.Provider != "indie" || id.Subject != indieUser || id.Name != indieUserName || id.Email != indieUserEmail {
		t.Fatalf("identity %+v", id)
	}
	if id.Raw["client_id"] != indieClientID {
		t.Fatalf("userinfo saw the token as issued to %v", id.Raw["client_id"])
	}

	// The server saw one authorize, one token and one userinfo request, and
	// no secret, verifier or token in any URL (state and challenge belong
	// in the authorize URL, so they are not planted).
	for path, want := range map[string]int64{"/authorize": 1, "/token": 1, "/userinfo": 1} {
		if got := as.Calls(path); got != want {
			t.Errorf("%s called %d times, want %d", path, got, want)
		}
	}
	for _, u := range as.URLs() {
		leaks.ScanURL("AS request", u)
	}
	leaks.ScanString("token String()", tok.String())
	leaks.ScanLogs(logs)
	leaks.AssertNone(t)
}

func TestIndependentAS_PKCEIsEnforced(t *testing.T) {
	harness.GoroutineBaseline(t, harness.IgnoreBuntDB)
	leaks := harness.NewLeakScanner()
	leaks.Plant("client_secret", indieSecret)
	as := newIndieAS(t, indieOptions{})
	a := newIndieAdapter(t, as.adapterConfig(t, nil))

	t.Run("wrong verifier is invalid_grant and burns the code", func(t *testing.T) {
		code, verifier := indieLogin(t, as, a, indieRedirectURI)
		leaks.Plant("code", code)
		leaks.Plant("verifier", verifier)
		wrong := provider.NewVerifier()
		_, err := a.Exchange(t.Context(), code, wrong)
		// RFC 7636 §4.6: a verifier that does not match is invalid_grant.
		// go-oauth2 sends it with HTTP 401 where RFC 6749 §5.2 says 400;
		// Gatehouse classifies on the error code, so it is ErrInvalidGrant
		// either way.
		wantKind(t, leaks, err, provider.ErrInvalidGrant, "invalid_grant", http.StatusUnauthorized)
		// The failed attempt consumed the code: the right verifier is now
		// too late, as it should be (no verifier guessing on one code).
		_, err = a.Exchange(t.Context(), code, verifier)
		wantKind(t, leaks, err, provider.ErrInvalidGrant, "invalid_grant", http.StatusUnauthorized)
	})

	t.Run("the challenge itself is not a valid verifier (S256, not plain)", func(t *testing.T) {
		code, verifier := indieLogin(t, as, a, indieRedirectURI)
		_, err := a.Exchange(t.Context(), code, provider.S256Challenge(verifier))
		wantKind(t, leaks, err, provider.ErrInvalidGrant, "invalid_grant", http.StatusUnauthorized)
	})

	t.Run("no verifier is invalid_request", func(t *testing.T) {
		code, _ := indieLogin(t, as, a, indieRedirectURI)
		_, err := a.Exchange(t.Context(), code, "")
		wantKind(t, leaks, err, provider.ErrRejected, "invalid_request", http.StatusBadRequest)
	})

	t.Run("authorize without a challenge is refused", func(t *testing.T) {
		// The server answers the browser directly (no redirect, so no
		// code) with invalid_request.
		resp, err := as.Client().Get(a.AuthURL(provider.AuthRequest{State: provider.NewState()}))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		as.Client().CloseIdleConnections()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_request") {
			t.Fatalf("authorize without PKCE: %d %q, want 400 invalid_request", resp.StatusCode, body)
		}
	})
	leaks.AssertNone(t)
}

func TestIndependentAS_Refresh(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rotation bool
	}{
		{"rotation", true},
		{"no rotation", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			harness.GoroutineBaseline(t, harness.IgnoreBuntDB)
			as := newIndieAS(t, indieOptions{NoRotation: !tc.rotation})
			a := newIndieAdapter(t, as.adapterConfig(t, nil))
			code, verifier := indieLogin(t, as, a, indieRedirectURI)
			t1, err := a.Exchange(t.Context(), code, verifier)
			if err != nil {
				t.Fatal(err)
			}
			leaks := harness.NewLeakScanner()
			leaks.Plant("client_secret", indieSecret)
			leaks.Plant("old_refresh_token", t1.RefreshToken)
			leaks.Plant("old_access_token", t1.AccessToken)
			before := t1.Clone()

			t2, err := a.Refresh(t.Context(), t1)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if t2.AccessToken == t1.AccessToken || t2.AccessToken == "" {
				t.Fatal("refresh did not issue a new access token")
			}
			if t1.AccessToken != before.AccessToken || t1.RefreshToken != before.RefreshToken {
				t.Fatal("Refresh modified its argument")
			}
			if !slices.Equal(t2.Scopes, []string{"profile", "email"}) {
				t.Fatalf("scopes after refresh %v", t2.Scopes)
			}
			// The new access token works at the resource server.
			if id, err := a.Identity(t.Context(), t2); err != nil || id.Subject != indieUser {
				t.Fatalf("new access token: %v, %v", id, err)
			}
			// The server removes the old access token on refresh (its
			// IsRemoveAccess), so the resource server refuses it.
			_, err = a.Identity(t.Context(), t1)
			wantKind(t, leaks, err, provider.ErrUnauthorized, "invalid_token", http.StatusUnauthorized)

			if tc.rotation {
				if t2.RefreshToken == "" || t2.RefreshToken == t1.RefreshToken {
					t.Fatal("rotation: want a new refresh token")
				}
				// The rotated-out refresh token is dead: invalid_grant.
				_, err = a.Refresh(t.Context(), t1)
				wantKind(t, leaks, err, provider.ErrInvalidGrant, "invalid_grant", http.StatusUnauthorized)
			} else {
				// The reply carried no refresh_token: RFC 6749 §6 says
				// the client keeps using the old one, and the adapter
				// carries it over.
				if t2.RefreshToken != t1.RefreshToken {
					t.Fatal("no rotation: the old refresh token was not kept")
				}
			}
			t3, err := a.Refresh(t.Context(), t2)
			if err != nil {
				t.Fatalf("second refresh: %v", err)
			}
			if id, err := a.Identity(t.Context(), t3); err != nil || id.Subject != indieUser {
				t.Fatalf("after second refresh: %v, %v", id, err)
			}
			if got := as.Calls("/token"); got != 4-boolInt(!tc.rotation) {
				t.Fatalf("/token called %d times", got)
			}
			leaks.AssertNone(t)
		})
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestIndependentAS_BadClientSecret(t *testing.T) {
	harness.GoroutineBaseline(t, harness.IgnoreBuntDB)
	as := newIndieAS(t, indieOptions{})
	good := newIndieAdapter(t, as.adapterConfig(t, nil))
	cfg := as.adapterConfig(t, nil)
	cfg.ClientSecret = "wrong-client-secret-4242"
	bad := newIndieAdapter(t, cfg)
	leaks := harness.NewLeakScanner()
	leaks.Plant("client_secret", indieSecret)
	leaks.Plant("wrong_secret", cfg.ClientSecret)

	code, verifier := indieLogin(t, as, bad, indieRedirectURI)
	leaks.Plant("code", code)
	leaks.Plant("verifier", verifier)
	_, err := bad.Exchange(t.Context(), code, verifier)
	pe := wantKind(t, leaks, err, provider.ErrRejected, "invalid_client", http.StatusUnauthorized)
	if errors.Is(err, provider.ErrInvalidGrant) || provider.IsTransient(err) {
		t.Fatalf("invalid_client classified as %v", pe.Kind)
	}
	if pe.Description == "" {
		t.Fatal("the server's error_description was not kept")
	}
	// Client authentication failed before the code was looked at, so the
	// code is still good for the real client.
	if _, err := good.Exchange(t.Context(), code, verifier); err != nil {
		t.Fatalf("exchange after a failed client auth: %v", err)
	}
	leaks.AssertNone(t)
}

// TestIndependentAS_Deviations pins where go-oauth2/oauth2 v4.5.4 departs
// from the RFCs and how Gatehouse copes. A failure here after an upgrade
// means the server changed: update the notes (and maybe the adapter).
func TestIndependentAS_Deviations(t *testing.T) {
	harness.GoroutineBaseline(t, harness.IgnoreBuntDB)
	leaks := harness.NewLeakScanner()
	leaks.Plant("client_secret", indieSecret)

	t.Run("refresh does not authenticate the client (RFC 6749 §6 MUST)", func(t *testing.T) {
		as := newIndieAS(t, indieOptions{})
		good := newIndieAdapter(t, as.adapterConfig(t, nil))
		code, verifier := indieLogin(t, as, good, indieRedirectURI)
		tok, err := good.Exchange(t.Context(), code, verifier)
		if err != nil {
			t.Fatal(err)
		}
		cfg := as.adapterConfig(t, nil)
		cfg.ClientSecret = "not-the-client-secret"
		bad := newIndieAdapter(t, cfg)
		// The server accepts the refresh whatever the credentials: a
		// stolen refresh token is usable without the client secret.
		// Gatehouse always authenticates and keeps refresh tokens
		// server-side, which is all a client can do.
		if _, err := bad.Refresh(t.Context(), tok); err != nil {
			t.Fatalf("the server now authenticates refresh requests (%v): update this note", err)
		}
	})

	t.Run("HTTP Basic credentials are not form-decoded (RFC 6749 §2.3.1)", func(t *testing.T) {
		const odd = "s3cret+with/reserved=chars"
		as := newIndieAS(t, indieOptions{ClientSecret: odd})
		cfg := as.adapterConfig(t, nil)
		cfg.ClientSecret = odd
		a := newIndieAdapter(t, cfg)
		code, verifier := indieLogin(t, as, a, indieRedirectURI)
		// The adapter form-encodes id and secret before Basic, as §2.3.1
		// says (and as golang.org/x/oauth2 does); the server compares
		// the encoded secret with the raw one.
		_, err := a.Exchange(t.Context(), code, verifier)
		wantKind(t, leaks, err, provider.ErrRejected, "invalid_client", http.StatusUnauthorized)

		// Coping: a server that reads credentials from the body works
		// with AuthStyleBody (or register a secret of unreserved
		// characters, as most servers generate).
		as2 := newIndieAS(t, indieOptions{ClientSecret: odd, ClientFromBody: true})
		cfg2 := as2.adapterConfig(t, nil)
		cfg2.ClientSecret = odd
		cfg2.AuthStyle = provider.AuthStyleBody
		a2 := newIndieAdapter(t, cfg2)
		code, verifier = indieLogin(t, as2, a2, indieRedirectURI)
		if _, err := a2.Exchange(t.Context(), code, verifier); err != nil {
			t.Fatalf("body credentials: %v", err)
		}
	})

	t.Run("invalid_grant and invalid_client come with 401 and no WWW-Authenticate (RFC 6749 §5.2)", func(t *testing.T) {
		as := newIndieAS(t, indieOptions{})
		defer as.Client().CloseIdleConnections()
		for _, tc := range []struct {
			code string
			form url.Values
		}{
			// Refresh skips client auth (above), so an unknown refresh
			// token is invalid_grant: §5.2 says 400.
			{"invalid_grant", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown-refresh-token"}}},
			// A wrong secret sent with Basic is invalid_client: 401 is
			// right, but §5.2 then requires WWW-Authenticate.
			{"invalid_client", url.Values{"grant_type": {"authorization_code"}, "code": {"some-code"},
				"redirect_uri": {indieRedirectURI}, "code_verifier": {provider.NewVerifier()}}},
		} {
			req, _ := http.NewRequest(http.MethodPost, as.URL+"/token", strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(indieClientID, "wrong-secret")
			resp, err := as.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			// Gatehouse keys on the error code, not the status, and does
			// not need WWW-Authenticate.
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "" ||
				!strings.Contains(string(body), `"error":"`+tc.code+`"`) {
				t.Fatalf("%s: status %d WWW-Authenticate %q body %s", tc.code, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
		}
	})

	t.Run("missing code_verifier is server_error when PKCE is optional (RFC 7636 §4.6)", func(t *testing.T) {
		as := newIndieAS(t, indieOptions{NoForcePKCE: true})
		a := newIndieAdapter(t, as.adapterConfig(t, nil))
		code, _ := indieLogin(t, as, a, indieRedirectURI)
		// RFC 7636 wants invalid_grant; the server answers 500
		// server_error, which Gatehouse must read as transient. The
		// middleware always sends the verifier of the challenge it sent,
		// so this needs a broken caller.
		_, err := a.Exchange(t.Context(), code, "")
		wantKind(t, leaks, err, provider.ErrUnavailable, "server_error", http.StatusInternalServerError)
	})

	t.Run("redirect_uri mismatch at the token endpoint is server_error (RFC 6749 §4.1.3)", func(t *testing.T) {
		as := newIndieAS(t, indieOptions{})
		a := newIndieAdapter(t, as.adapterConfig(t, nil))
		code, verifier := indieLogin(t, as, a, indieRedirectURI)
		cfg := as.adapterConfig(t, nil)
		cfg.RedirectURL = indieRedirectURI + "/other"
		other := newIndieAdapter(t, cfg)
		// §4.1.3 wants invalid_grant; the server answers 500, so
		// Gatehouse sees ErrUnavailable ("try later") for what is a
		// configuration error. Gatehouse sends its one configured
		// RedirectURL in both requests, so this needs a misconfiguration.
		_, err := other.Exchange(t.Context(), code, verifier)
		wantKind(t, leaks, err, provider.ErrUnavailable, "server_error", http.StatusInternalServerError)
	})

	t.Run("an unregistered redirect_uri still gets the redirect (RFC 6749 §4.1.2.1 MUST NOT)", func(t *testing.T) {
		as := newIndieAS(t, indieOptions{})
		cfg := as.adapterConfig(t, nil)
		evil := "http://127.0.0.1/not-registered"
		cfg.RedirectURL = evil
		a := newIndieAdapter(t, cfg)
		// The server redirects the browser, with error=server_error, to
		// a URI nobody registered: an open redirect on the server's side.
		// No code is issued, and Gatehouse only ever sends its own
		// RedirectURL, so the client side is unaffected.
		q := as.authorize(t, a.AuthURL(provider.AuthRequest{State: provider.NewState(), CodeChallenge: provider.S256Challenge(provider.NewVerifier())}), evil)
		if q.Get("error") != "server_error" || q.Get("code") != "" {
			t.Fatalf("redirect query %v", q)
		}
	})

	t.Run("a replayed code does not revoke its tokens (RFC 6749 §4.1.2 SHOULD)", func(t *testing.T) {
		as := newIndieAS(t, indieOptions{})
		a := newIndieAdapter(t, as.adapterConfig(t, nil))
		code, verifier := indieLogin(t, as, a, indieRedirectURI)
		tok, err := a.Exchange(t.Context(), code, verifier)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Exchange(t.Context(), code, verifier)
		wantKind(t, leaks, err, provider.ErrInvalidGrant, "invalid_grant", http.StatusUnauthorized)
		// The replay is refused, but the first exchange's token lives on.
		// Gatehouse's single-use state means it never replays a code.
		if _, err := a.Identity(t.Context(), tok); err != nil {
			t.Fatalf("the server now revokes on code replay (%v): update this note", err)
		}
	})
	leaks.AssertNone(t)
}

func TestIndependentAS_Revoke(t *testing.T) {
	harness.GoroutineBaseline(t, harness.IgnoreBuntDB)
	as := newIndieAS(t, indieOptions{})
	a := newIndieAdapter(t, as.adapterConfig(t, nil))
	code, verifier := indieLogin(t, as, a, indieRedirectURI)
	tok, err := a.Exchange(t.Context(), code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(t.Context(), tok); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	leaks := harness.NewLeakScanner()
	leaks.Plant("client_secret", indieSecret)
	_, err = a.Identity(t.Context(), tok)
	wantKind(t, leaks, err, provider.ErrUnauthorized, "invalid_token", http.StatusUnauthorized)
	_, err = a.Refresh(t.Context(), tok)
	wantKind(t, leaks, err, provider.ErrInvalidGrant, "invalid_grant", http.StatusUnauthorized)
	// Revoking again is success (RFC 7009 §2.2).
	if err := a.Revoke(t.Context(), tok); err != nil {
		t.Fatalf("second Revoke: %v", err)
	}
	// RFC 7009 calls: refresh token then access token, twice.
	if got := as.Calls("/revoke"); got != 4 {
		t.Fatalf("/revoke called %d times, want 4", got)
	}
}

// TestIndependentAS_Conformance runs the provider conformance suite with
// the generic adapter against the independent server (faults injected by
// the test's wrapper around its token endpoint).
func TestIndependentAS_Conformance(t *testing.T) {
	providertest.RunRedirect(t, providertest.RedirectHarness{
		New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
			as := newIndieAS(t, indieOptions{})
			cfg := as.adapterConfig(t, nil)
			cfg.Logger, cfg.HTTPClient = env.Logger, env.Client(cfg.HTTPClient)
			// Short enough for quick timeout checks, long enough for a
			// race-instrumented exchange on a loaded 2-core CI machine.
			cfg.Timeout = 2 * time.Second
			return providertest.RedirectFixture{
				Provider:  newIndieAdapter(t, cfg),
				Authorize: as.AuthorizeCode,
				Fail:      func(f providertest.Failure) { as.FailNext(string(f)) },
			}
		},
		RedirectURL:         indieRedirectURI,
		Identity:            provider.Identity{Subject: indieUser, Name: indieUserName, Email: indieUserEmail},
		Scopes:              []string{"profile", "email"},
		ClientSecret:        indieSecret,
		RotatesRefreshToken: true,
		MaxWait:             5 * time.Second,
	})
}
