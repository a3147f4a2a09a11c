package oidctest

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// authzRequest is a validated authorization request.
type authzRequest struct {
	client      *Client
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scopes      []string
	user        User
	created     time.Time
}

// grant is what a code, and the tokens issued from it, stand for.
type grant struct {
	client    *Client
	user      User
	scopes    []string
	nonce     string
	sid       string
	authTime  time.Time
	challenge string
	redirect  string
	expiry    time.Time // code expiry
	used      bool
}

// handleAuthorize validates the request (client, exact redirect_uri,
// response_type=code, PKCE S256, openid scope) and either shows the
// consent page or answers at once.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointAuthorize) {
		return
	}
	q := r.URL.Query()
	c := s.findClient(q.Get("client_id"))
	if c == nil {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	ru := q.Get("redirect_uri")
	if !slices.Contains(c.RedirectURIs, ru) {
		http.Error(w, "redirect_uri is not registered for this client", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		http.Redirect(w, r, redirectWith(ru, s.authzResponse(url.Values{"error": {code}, "error_description": {desc}, "state": {q.Get("state")}})), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "only response_type=code")
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, "openid") {
		fail("invalid_scope", "openid scope required")
		return
	}
	if !validChallenge(q.Get("code_challenge")) || q.Get("code_challenge_method") != "S256" {
		// RFC 7636 §4.4.1; "plain" (also the default when the method is
		// left out) is refused, as RFC 9700 §2.1.1 recommends.
		fail("invalid_request", "PKCE S256 required")
		return
	}
	prompt := strings.Fields(q.Get("prompt"))
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		// OpenID Connect Core §3.1.2.1.
		fail("invalid_request", "prompt=none must be alone")
		return
	}
	user, ok := s.findUser(q.Get("login_hint"))
	if !ok {
		fail("login_required", "unknown login_hint")
		return
	}
	if s.cfg.Consent && slices.Contains(prompt, "none") {
		// No page may be shown with prompt=none (OpenID Connect Core
		// §3.1.2.6).
		fail("consent_required", "the user must consent on the consent page")
		return
	}
	req := &authzRequest{client: c, redirectURI: ru, state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), scopes: scopes, user: user, created: s.now()}
	if !s.cfg.Consent {
		http.Redirect(w, r, s.approve(req), http.StatusFound)
		return
	}
	id := randomString(32)
	s.mu.Lock()
	s.pending[id] = req
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// form-action also governs the redirect that answers the form:
	// browsers block a POST whose redirect leaves 'self', so the
	// client's (registered, exactly matched) redirect origin is allowed.
	formAction := "'self'"
	if ru, err := url.Parse(req.redirectURI); err == nil && ru.Scheme != "" && ru.Host != "" {
		formAction += " " + ru.Scheme + "://" + ru.Host
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	_ = consentPage.Execute(w, map[string]any{
		"Action": s.cfg.IssuerPath + "/consent", "ID": id, "Client": c.ID, "User": user.Subject,
		"Name": user.Name, "Scopes": strings.Join(scopes, " "),
	})
}

// validChallenge reports whether c is a code_challenge as RFC 7636 §4.2
// defines it: 43 to 128 characters of [A-Z] [a-z] [0-9] "-" "." "_" "~"
// (an S256 challenge is always 43).
func validChallenge(c string) bool {
	if len(c) < 43 || len(c) > 128 {
		return false
	}
	for _, r := range c {
		if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>oidctest: consent</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto}button{font-size:1rem;margin-right:1rem}</style></head>
<body><h1>Sign in to {{.Client}}</h1>
<p>Signed in at the test OpenID Provider as <strong>{{.Name}}</strong> ({{.User}}).</p>
<p><strong>{{.Client}}</strong> asks for: <code>{{.Scopes}}</code></p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="request" value="{{.ID}}">
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form></body></html>
`))

// handleConsent takes the consent page's decision.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointConsent) {
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	req := s.pending[r.PostForm.Get("request")]
	delete(s.pending, r.PostForm.Get("request"))
	s.mu.Unlock()
	if req == nil || s.now().Sub(req.created) > s.cfg.CodeTTL*10 {
		http.Error(w, "unknown or expired authorization request", http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("decision") != "allow" {
		http.Redirect(w, r, redirectWith(req.redirectURI, s.authzResponse(url.Values{
			"error": {"access_denied"}, "error_description": {"The user denied the request."}, "state": {req.state},
		})), http.StatusFound)
		return
	}
	http.Redirect(w, r, s.approve(req), http.StatusFound)
}

// approve issues a code (and an OP session) for req and returns the
// redirect back to the client.
func (s *Server) approve(req *authzRequest) string {
	code := randomString(32)
	now := s.now()
	g := &grant{client: req.client, user: req.user, scopes: req.scopes, nonce: req.nonce, sid: randomString(12),
		authTime: now, challenge: req.challenge, redirect: req.redirectURI, expiry: now.Add(s.cfg.CodeTTL)}
	s.mu.Lock()
	s.codes[code] = g
	s.sessions[g.sid] = g.user.Subject
	s.mu.Unlock()
	return redirectWith(req.redirectURI, s.authzResponse(url.Values{"code": {code}, "state": {req.state}}))
}

// authzResponse adds iss (RFC 9207) as configured and misconfigured.
func (s *Server) authzResponse(v url.Values) url.Values {
	if v.Get("state") == "" {
		v.Del("state")
	}
	m := s.misbehaviour()
	switch {
	case m.IssParameter != "":
		v.Set("iss", m.IssParameter)
	case s.cfg.IssParameter && !m.OmitIssParameter:
		v.Set("iss", s.Issuer)
	}
	return v
}

// Authorize drives the authorization endpoint the way a browser would:
// it GETs authURL without following redirects, answers the consent page
// (Allow, or Deny when deny is true) if there is one, and returns the
// Location of the redirect back to the client.
func (s *Server) Authorize(ctx context.Context, authURL string, deny bool) (*url.URL, error) {
	hc := *s.ts.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK && strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		page := string(body)
		i := strings.Index(page, `name="request" value="`)
		if i < 0 {
			return nil, errors.New("oidctest: consent page without a request id")
		}
		id := page[i+len(`name="request" value="`):]
		id = id[:strings.IndexByte(id, '"')]
		decision := "allow"
		if deny {
			decision = "deny"
		}
		form := url.Values{"request": {id}, "decision": {decision}}
		preq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+s.cfg.IssuerPath+"/consent", strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		preq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err = hc.Do(preq); err != nil {
			return nil, err
		}
		resp.Body.Close()
	}
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("oidctest: authorize answered %d, not 302", resp.StatusCode)
	}
	return url.Parse(resp.Header.Get("Location"))
}

// AuthorizeCode is Authorize (Allow) returning the code and state of the
// redirect; an error= redirect is returned as an error.
func (s *Server) AuthorizeCode(ctx context.Context, authURL string) (code, state string, err error) {
	loc, err := s.Authorize(ctx, authURL, false)
	if err != nil {
		return "", "", err
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return "", q.Get("state"), fmt.Errorf("oidctest: authorization error %s", e)
	}
	return q.Get("code"), q.Get("state"), nil
}
