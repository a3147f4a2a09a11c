package providertest

// A small RFC 6749 upstream and a reference adapter over it, built from
// provider alone (this package imports nothing else of the module). The
// self-test breaks the adapter one way at a time and expects the suite to
// fail; unbroken, it must pass.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

const (
	fakeClientID = "ref-client"
	fakeSecret   = "ref-secret/with:odd&chars %"
	fakeRedirect = "https://app.example/auth/ref/callback"
	fakeUser     = "ada"
	fakePassword = "correct horse:battery"
)

// fakeIdentity is who the fake's only user is.
var fakeIdentity = provider.Identity{Subject: "user-1", Name: "Ada Lovelace", Email: "ada@example.test"}

// fakeAS is the upstream: authorization codes with PKCE, refresh with
// rotation and reuse detection, the password grant, userinfo, RFC 7009
// revocation at /revoke and revocation by path at DELETE /token/{token},
// and one-shot fault injection on the token endpoint.
type fakeAS struct {
	srv *httptest.Server

	mu      sync.Mutex
	codes   map[string]string // code -> PKCE challenge ("" for none)
	access  map[string]bool
	refresh map[string]bool
	fault   Failure
}

func newFakeAS() *fakeAS {
	f := &fakeAS{codes: map[string]string{}, access: map[string]bool{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /userinfo", f.userinfo)
	mux.HandleFunc("POST /revoke", f.revoke)
	mux.HandleFunc("DELETE /token/{token}", f.revokeByPath)
	f.srv = httptest.NewServer(mux)
	return f
}

// Authorize approves the user for authURL and returns code and state.
func (f *fakeAS) Authorize(_ context.Context, authURL string) (code, state string, err error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	if q.Get("client_id") != fakeClientID || q.Get("redirect_uri") != fakeRedirect || q.Get("response_type") != "code" {
		return "", "", errors.New("authorize: bad client, redirect_uri or response_type")
	}
	challenge := q.Get("code_challenge")
	if challenge != "" && q.Get("code_challenge_method") != "S256" {
		return "", "", errors.New("authorize: only S256")
	}
	code = "code-" + provider.NewState()
	f.mu.Lock()
	f.codes[code] = challenge
	f.mu.Unlock()
	return code, q.Get("state"), nil
}

// Fail injects fl into the next token endpoint call.
func (f *fakeAS) Fail(fl Failure) {
	f.mu.Lock()
	f.fault = fl
	f.mu.Unlock()
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func (f *fakeAS) clientOK(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	return ok && id == fakeClientID && secret == fakeSecret
}

// issue mints a token set; the caller holds f.mu.
func (f *fakeAS) issue(w http.ResponseWriter, rt string) {
	at := "at-" + provider.NewState()
	if rt == "" {
		rt = "rt-" + provider.NewState()
	}
	f.access[at], f.refresh[rt] = true, true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 3600, "refresh_token": rt})
}

func (f *fakeAS) token(w http.ResponseWriter, r *http.Request) {
	// Read the body first: only then does the server notice a client
	// that gives up, and cancel r.Context (the timeout fault waits on it).
	formErr := r.ParseForm()
	f.mu.Lock()
	fault := f.fault
	f.fault = ""
	f.mu.Unlock()
	switch fault {
	case FailUnavailable:
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
		return
	case FailTimeout:
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second): // a bound, should the client never give up
		}
		return
	case FailMalformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token": "tru`))
		return
	case FailOversized:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + strings.Repeat("a", provider.DefaultMaxBody+64<<10) + `"}`))
		return
	}
	if !f.clientOK(r) || formErr != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		challenge, ok := f.codes[r.PostForm.Get("code")]
		delete(f.codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || r.PostForm.Get("redirect_uri") != fakeRedirect ||
			(challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) != challenge) {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		f.issue(w, "")
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if !f.refresh[rt] {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		delete(f.refresh, rt) // rotation: the old one is dead
		f.issue(w, "")
	case "password":
		if r.PostForm.Get("username") != fakeUser || r.PostForm.Get("password") != fakePassword {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		f.issue(w, "")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

func (f *fakeAS) userinfo(w http.ResponseWriter, r *http.Request) {
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	ok = ok && f.access[at]
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"sub": fakeIdentity.Subject, "name": fakeIdentity.Name, "email": fakeIdentity.Email})
}

func (f *fakeAS) revoke(w http.ResponseWriter, r *http.Request) {
	if !f.clientOK(r) || r.ParseForm() != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	f.mu.Lock()
	delete(f.access, r.PostForm.Get("token"))
	delete(f.refresh, r.PostForm.Get("token"))
	f.mu.Unlock()
}

func (f *fakeAS) revokeByPath(_ http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	delete(f.access, r.PathValue("token"))
	f.mu.Unlock()
}

// broken names one way to break the reference adapter ("" for none).
type broken string

const (
	secretInTokenURL    broken = "client secret in the token URL"
	tokenInUserinfoURL  broken = "access token in the userinfo URL"
	passwordInURL       broken = "password in the token URL"
	subjectFromEmail    broken = "identity mapped from the wrong claim"
	dropsNewRefresh     broken = "refresh keeps the old refresh token, not the rotated one"
	inventsRefresh      broken = "refresh token not the one the upstream sent"
	revokeWrongPath     broken = "revoke sent to the wrong path, 404 ignored"
	revokeNothing       broken = "revoke sends nothing"
	revokeByPath        broken = "revoke names the access token in the URL path"
	noPKCE              broken = "no PKCE"
	tokenInError        broken = "refresh token printed in an error"
	tokenInLog          broken = "access token logged"
	ownHTTPClient       broken = "upstream requests bypass Env.Client"
	identityDropsFields broken = "identity without name and email"
	paramsOverride      broken = "AuthRequest.Params override the flow's parameters"
	keepsInboundHeader  broken = "SetCredential keeps the browser's X-Auth-Token"
	untypedErrors       broken = "errors lose their *provider.Error type"
)

// refAdapter is a plain, correct OAuth2 adapter (redirect and password),
// unless brk says how to break it.
type refAdapter struct {
	base   string
	client *provider.Client
	logger *slog.Logger
	brk    broken
}

var (
	_ provider.RedirectProvider = (*refAdapter)(nil)
	_ provider.PasswordProvider = (*refAdapter)(nil)
	_ provider.Revoker          = (*refAdapter)(nil)
)

func newRefAdapter(base string, hc *http.Client, logger *slog.Logger, brk broken) *refAdapter {
	if brk == ownHTTPClient {
		hc = &http.Client{}
	}
	return &refAdapter{base: base, logger: logger, brk: brk,
		client: &provider.Client{Provider: "ref", HTTPClient: hc, Timeout: time.Second}}
}

func (a *refAdapter) Name() string { return "ref" }

func (a *refAdapter) SetCredential(r *http.Request, t *provider.Token) {
	r.Header.Del("Authorization")
	if a.brk != keepsInboundHeader {
		r.Header.Del("X-Auth-Token")
	}
	r.Header.Set("Authorization", "Bearer "+t.AccessToken)
}

func (a *refAdapter) AuthURL(req provider.AuthRequest) string {
	q := url.Values{}
	for k, v := range req.Params {
		q[k] = v
	}
	q.Del("client_secret")
	q.Set("client_id", fakeClientID)
	q.Set("redirect_uri", fakeRedirect)
	q.Set("response_type", "code")
	q.Set("state", req.State)
	q.Set("scope", strings.Join(req.Scopes, " "))
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	if req.CodeChallenge != "" && a.brk != noPKCE {
		q.Set("code_challenge", req.CodeChallenge)
		q.Set("code_challenge_method", "S256")
	}
	if a.brk == paramsOverride {
		for k, v := range req.Params {
			q[k] = v
		}
	}
	return a.base + "/authorize?" + q.Encode()
}

// tokenCall posts params to the token endpoint with client credentials.
func (a *refAdapter) tokenCall(ctx context.Context, op string, params map[string]any) (*provider.Token, error) {
	u := a.base + "/token"
	if a.brk == secretInTokenURL {
		u += "?client_secret=" + url.QueryEscape(fakeSecret)
	}
	if a.brk == passwordInURL && op == "login" {
		u += "?password=" + url.QueryEscape(params["password"].(string))
	}
	resp, err := a.client.Do(ctx, op, provider.Request{URL: u, Params: params, BasicUser: fakeClientID, BasicPass: fakeSecret})
	if err != nil {
		return nil, err
	}
	return provider.ParseToken(resp.Body, resp.Header.Get("Content-Type"), resp.Received, provider.ParseOptions{})
}

func (a *refAdapter) Exchange(ctx context.Context, code, verifier string) (*provider.Token, error) {
	p := map[string]any{"grant_type": "authorization_code", "code": code, "redirect_uri": fakeRedirect}
	if a.brk != noPKCE {
		p["code_verifier"] = verifier
	}
	return a.tokenCall(ctx, "exchange", p)
}

func (a *refAdapter) Login(ctx context.Context, username, password string) (*provider.Token, error) {
	tok, err := a.tokenCall(ctx, "login", map[string]any{"grant_type": "password", "username": username, "password": password})
	var pe *provider.Error
	if errors.As(err, &pe) && errors.Is(err, provider.ErrInvalidGrant) {
		pe.Kind = provider.ErrInvalidCredentials
	}
	return tok, err
}

func (a *refAdapter) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	if t == nil || t.RefreshToken == "" {
		return nil, &provider.Error{Provider: "ref", Op: "refresh", Kind: provider.ErrNoRefreshToken}
	}
	fresh, err := a.tokenCall(ctx, "refresh", map[string]any{"grant_type": "refresh_token", "refresh_token": t.RefreshToken})
	if err != nil {
		switch a.brk {
		case tokenInError:
			return nil, fmt.Errorf("refresh of %s: %w", t.RefreshToken, err)
		case untypedErrors:
			return nil, errors.New(err.Error())
		}
		return nil, err
	}
	switch a.brk {
	case dropsNewRefresh:
		fresh.RefreshToken = t.RefreshToken
	case inventsRefresh:
		fresh.RefreshToken = "rt-invented-" + provider.NewState()
	}
	return provider.RefreshedToken(t, fresh), nil
}

func (a *refAdapter) Identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	u := a.base + "/userinfo"
	if a.brk == tokenInUserinfoURL {
		u += "?access_token=" + url.QueryEscape(t.AccessToken)
	}
	if a.brk == tokenInLog {
		a.logger.Debug("userinfo", "token", t.AccessToken)
	}
	resp, err := a.client.Do(ctx, "identity", provider.Request{URL: u, Header: http.Header{"Authorization": {"Bearer " + t.AccessToken}}})
	if err != nil {
		return nil, err
	}
	var c struct{ Sub, Name, Email string }
	if err := json.Unmarshal(resp.Body, &c); err != nil || c.Sub == "" {
		return nil, &provider.Error{Provider: "ref", Op: "identity", Kind: provider.ErrBadResponse, Err: err}
	}
	id := &provider.Identity{Provider: "ref", Subject: c.Sub, Name: c.Name, Email: c.Email}
	switch a.brk {
	case subjectFromEmail:
		id.Subject = c.Email
	case identityDropsFields:
		id.Name, id.Email = "", ""
	}
	return id, nil
}

func (a *refAdapter) Revoke(ctx context.Context, t *provider.Token) error {
	switch a.brk {
	case revokeNothing:
		return nil
	case revokeByPath:
		_, err := a.client.Do(ctx, "revoke", provider.Request{Method: http.MethodDelete, URL: a.base + "/token/" + url.PathEscape(t.AccessToken)})
		return err
	}
	path := "/revoke"
	if a.brk == revokeWrongPath {
		path = "/oauth/revoke"
	}
	var errs []error
	for _, tok := range []string{t.RefreshToken, t.AccessToken} {
		_, err := a.client.Do(ctx, "revoke", provider.Request{URL: a.base + path, Params: map[string]any{"token": tok},
			BasicUser: fakeClientID, BasicPass: fakeSecret})
		var pe *provider.Error
		if errors.As(err, &pe) && pe.StatusCode == http.StatusNotFound {
			err = nil // "already gone", says the lenient adapter
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
