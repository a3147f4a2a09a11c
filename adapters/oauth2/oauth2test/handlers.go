package oauth2test

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// TokenRequest is a decoded, client-authenticated token endpoint request,
// as passed to a GrantFunc.
type TokenRequest struct {
	// Params are the request parameters (body, merged with the query
	// string when EncodingQuery is enabled).
	Params url.Values
	// Client is the authenticated client.
	Client *Client
	// AuthMethod is how the client authenticated: "client_secret_basic",
	// "client_secret_post" or "none" (a public client).
	AuthMethod string
	// Encoding is the body encoding used (one bit of Encodings; 0 for an
	// empty body).
	Encoding Encodings
	// HTTP is the underlying request (its body has been consumed).
	HTTP *http.Request
}

// secretParams must never appear in a URL.
var secretParams = []string{"client_secret", "code", "code_verifier", "refresh_token", "password", "token"}

// parseParams decodes a token or revocation request body.
func (s *Server) parseParams(w http.ResponseWriter, r *http.Request) (url.Values, Encodings, *Error) {
	query := r.URL.Query()
	for _, k := range secretParams {
		if query.Has(k) {
			s.warn("%s sent in the query string of %s", k, r.URL.Path)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		return nil, 0, errorf("invalid_request", "request body unreadable or too large")
	}
	params := url.Values{}
	var enc Encodings
	mt, mparams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case len(bytes.TrimSpace(body)) == 0:
	case mt == "application/x-www-form-urlencoded" || mt == "":
		enc = EncodingForm
		if params, err = url.ParseQuery(string(body)); err != nil {
			return nil, enc, errorf("invalid_request", "malformed form body")
		}
	case mt == "multipart/form-data":
		enc = EncodingMultipart
		if params, err = parseMultipart(body, mparams["boundary"]); err != nil {
			return nil, enc, errorf("invalid_request", "malformed multipart body")
		}
	case mt == "application/json":
		enc = EncodingJSON
		if params, err = parseJSONParams(body); err != nil {
			return nil, enc, errorf("invalid_request", "malformed JSON body: %v", err)
		}
	default:
		return nil, 0, errorf("invalid_request", "unsupported content type %q", mt)
	}
	if enc != 0 && s.cfg.Encodings&enc == 0 {
		return nil, enc, errorf("invalid_request", "content type %q not accepted here", mt)
	}
	for k, vs := range params {
		if len(vs) > 1 { // RFC 6749 §3.2
			return nil, enc, errorf("invalid_request", "parameter %q repeated", k)
		}
	}
	if s.cfg.Encodings&EncodingQuery != 0 {
		for k, vs := range query {
			if !params.Has(k) {
				params[k] = vs
			}
		}
		if enc == 0 && len(query) > 0 {
			enc = EncodingQuery
		}
	}
	return params, enc, nil
}

func parseMultipart(body []byte, boundary string) (url.Values, error) {
	if boundary == "" {
		return nil, errors.New("no boundary")
	}
	req := &http.Request{
		Method: http.MethodPost,
		Header: http.Header{"Content-Type": {"multipart/form-data; boundary=" + boundary}},
		Body:   io.NopCloser(bytes.NewReader(body)),
	}
	if err := req.ParseMultipartForm(int64(len(body)) + 1); err != nil {
		return nil, err
	}
	return url.Values(req.MultipartForm.Value), nil
}

// parseJSONParams reads a JSON object whose values are strings, numbers,
// booleans or arrays of strings (joined with spaces, for scope arrays).
func parseJSONParams(body []byte) (url.Values, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, errors.New("not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	out := url.Values{}
	for k, v := range obj {
		switch x := v.(type) {
		case nil:
		case string:
			out.Set(k, x)
		case json.Number:
			out.Set(k, x.String())
		case bool:
			out.Set(k, fmt.Sprint(x))
		case []any:
			parts := make([]string, 0, len(x))
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("field %q: array of non-strings", k)
				}
				parts = append(parts, s)
			}
			out.Set(k, strings.Join(parts, " "))
		default:
			return nil, fmt.Errorf("field %q: unsupported value", k)
		}
	}
	return out, nil
}

// authenticateClient implements RFC 6749 §2.3.1: HTTP Basic with the id and
// secret form-encoded first, or client_id/client_secret in the body; never
// both. Public clients send their client_id alone.
func (s *Server) authenticateClient(r *http.Request, params url.Values) (*Client, string, *Error) {
	bad := &Error{Code: "invalid_client", Description: "client authentication failed"}
	id, secret, basic := r.BasicAuth()
	method := "client_secret_post"
	if basic {
		if params.Has("client_secret") {
			return nil, "", errorf("invalid_request", "client authenticated by more than one method")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, "", bad
		}
		if p := params.Get("client_id"); p != "" && p != id {
			return nil, "", errorf("invalid_request", "client_id differs from the authenticated client")
		}
		method = "client_secret_basic"
	} else {
		id, secret = params.Get("client_id"), params.Get("client_secret")
	}
	c := s.findClient(id)
	if id == "" || c == nil {
		return nil, "", bad
	}
	if c.Secret == "" {
		if secret != "" {
			return nil, "", bad
		}
		return c, "none", nil
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return nil, "", bad
	}
	return c, method, nil
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointAuthorize)
	q := r.URL.Query()
	s.record(EndpointAuthorize, r, q)
	if q.Has("client_secret") {
		s.warn("client_secret sent in the authorize URL")
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Errors about the client or redirect URI are shown to the user, never
	// redirected (RFC 6749 §4.1.2.1): the redirect URI is not trusted yet.
	client := s.findClient(q.Get("client_id"))
	if client == nil {
		http.Error(w, "oauth2test: unknown client_id", http.StatusBadRequest)
		return
	}
	redirect, redirectGiven := q.Get("redirect_uri"), q.Has("redirect_uri")
	switch {
	case len(q["redirect_uri"]) > 1:
		http.Error(w, "oauth2test: redirect_uri repeated", http.StatusBadRequest)
		return
	case !redirectGiven && len(client.RedirectURIs) == 1:
		redirect = client.RedirectURIs[0]
	case !slices.Contains(client.RedirectURIs, redirect): // byte-exact
		http.Error(w, "oauth2test: redirect_uri is not registered for this client", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		v := url.Values{"error": {code}}
		if desc != "" {
			v.Set("error_description", desc)
		}
		if state != "" {
			v.Set("state", state)
		}
		http.Redirect(w, r, appendQuery(redirect, v), http.StatusFound)
	}
	if f := s.takeFailure(EndpointAuthorize); f != nil && s.apply(w, r, f, func(code string) { fail(code, "injected failure") }) {
		return
	}
	for k, vs := range q {
		if len(vs) > 1 {
			fail("invalid_request", "parameter "+k+" repeated")
			return
		}
	}
	rtype := q.Get("response_type")
	if rtype != "code" && !(rtype == "token" && s.cfg.AllowImplicit) {
		fail("unsupported_response_type", "")
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge != "" && method != "S256":
		fail("invalid_request", "only code_challenge_method=S256 is supported")
		return
	case challenge != "" && !validChallenge(challenge):
		fail("invalid_request", "malformed code_challenge")
		return
	case challenge == "" && method != "":
		fail("invalid_request", "code_challenge_method without code_challenge")
		return
	case challenge == "" && s.cfg.RequirePKCE && rtype == "code":
		fail("invalid_request", "PKCE code_challenge required")
		return
	}
	requested := splitScopes(q.Get("scope"))
	if len(s.cfg.Scopes) > 0 {
		for _, sc := range requested {
			if !slices.Contains(s.cfg.Scopes, sc) {
				fail("invalid_scope", "unknown scope")
				return
			}
		}
	}
	if len(requested) == 0 {
		requested = slices.Clone(s.cfg.DefaultScopes)
	}
	granted := requested
	if s.cfg.GrantScopes != nil {
		granted = s.cfg.GrantScopes(slices.Clone(requested))
	}
	user, ok := s.findUser(q.Get("login_hint"))
	if !ok {
		fail("access_denied", "unknown user")
		return
	}
	s.mu.Lock()
	family := s.newFamily()
	if rtype == "token" {
		reply := s.issueLocked(family, client.ID, user, granted, false)
		s.mu.Unlock()
		v := url.Values{"access_token": {reply.AccessToken}, "token_type": {reply.TokenType},
			"expires_in": {fmt.Sprint(int64(reply.ExpiresIn.Seconds()))}}
		if len(granted) > 0 {
			v.Set("scope", strings.Join(granted, " "))
		}
		if state != "" {
			v.Set("state", state)
		}
		base, _, _ := strings.Cut(redirect, "#")
		http.Redirect(w, r, base+"#"+v.Encode(), http.StatusFound)
		return
	}
	code := newSecret()
	s.codes[code] = &codeGrant{
		clientID: client.ID, redirectURI: redirect, redirectGiven: redirectGiven,
		challenge: challenge, scopes: granted, user: user,
		expiry: s.now().Add(s.cfg.CodeTTL), family: family,
	}
	s.mu.Unlock()
	v := url.Values{"code": {code}}
	if state != "" {
		v.Set("state", state)
	}
	http.Redirect(w, r, appendQuery(redirect, v), http.StatusFound)
}

// appendQuery adds v to the query of u (a registered redirect URI, which
// may already carry a query).
func appendQuery(u string, v url.Values) string {
	base, frag, hasFrag := strings.Cut(u, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	out := base + sep + v.Encode()
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// validChallenge: an S256 challenge is BASE64URL(SHA256(...)), 43 chars.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil
}

// validVerifier checks RFC 7636 §4.1: 43-128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range []byte(v) {
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
		if !ok {
			return false
		}
	}
	return true
}

// S256 returns the RFC 7636 S256 challenge of verifier.
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Server) handleTokenPath(w http.ResponseWriter, r *http.Request) { s.serveToken(w, r, false) }

func (s *Server) handleRefreshPath(w http.ResponseWriter, r *http.Request) { s.serveToken(w, r, true) }

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, refreshPath bool) {
	s.count(EndpointToken)
	if r.Method != http.MethodPost {
		s.record(EndpointToken, r, nil)
		if s.injectFailure(w, r, EndpointToken) {
			return
		}
		w.Header().Set("Allow", http.MethodPost)
		s.renderError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "token requests are POSTs"})
		return
	}
	params, enc, perr := s.parseParams(w, r)
	s.record(EndpointToken, r, params)
	grant := params.Get("grant_type")
	if grant == "refresh_token" {
		s.count(EndpointRefresh)
		s.record(EndpointRefresh, r, params)
		if s.injectFailure(w, r, EndpointRefresh) {
			return
		}
	}
	if s.injectFailure(w, r, EndpointToken) {
		return
	}
	if perr != nil {
		s.renderError(w, r, perr)
		return
	}
	if s.cfg.CheckTokenRequest != nil {
		if cerr := s.cfg.CheckTokenRequest(r, params); cerr != nil {
			s.renderError(w, r, cerr)
			return
		}
	}
	client, method, aerr := s.authenticateClient(r, params)
	if aerr != nil {
		s.renderError(w, r, aerr)
		return
	}
	req := &TokenRequest{Params: params, Client: client, AuthMethod: method, Encoding: enc, HTTP: r}
	separate := s.cfg.Paths.Refresh != "" && s.cfg.Paths.Refresh != s.cfg.Paths.Token
	var reply *TokenReply
	var gerr *Error
	switch {
	case grant == "":
		gerr = errorf("invalid_request", "grant_type missing")
	case refreshPath && grant != "refresh_token",
		!refreshPath && separate && grant == "refresh_token":
		gerr = errorf("unsupported_grant_type", "grant_type %q not accepted at this endpoint", grant)
	case grant == "authorization_code":
		reply, gerr = s.grantCode(req)
	case grant == "refresh_token":
		reply, gerr = s.grantRefresh(req)
	case s.cfg.Grants[grant] != nil:
		reply, gerr = s.cfg.Grants[grant](s, req)
	default:
		gerr = errorf("unsupported_grant_type", "unsupported grant_type")
	}
	if gerr != nil {
		s.renderError(w, r, gerr)
		return
	}
	s.cfg.RenderToken(w, r, reply)
}

func (s *Server) grantCode(req *TokenRequest) (*TokenReply, *Error) {
	p := req.Params
	code := p.Get("code")
	if code == "" {
		return nil, errorf("invalid_request", "code missing")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.codes[code]
	if g == nil || g.clientID != req.Client.ID {
		return nil, errorf("invalid_grant", "unknown code")
	}
	if g.used {
		// RFC 6749 §4.1.2: a replayed code revokes what it issued.
		s.revokeFamilyLocked(g.family)
		return nil, errorf("invalid_grant", "code already used")
	}
	g.used = true
	if !s.now().Before(g.expiry) {
		return nil, errorf("invalid_grant", "code expired")
	}
	if (g.redirectGiven || p.Has("redirect_uri")) && p.Get("redirect_uri") != g.redirectURI {
		return nil, errorf("invalid_grant", "redirect_uri differs from the authorization request")
	}
	verifier := p.Get("code_verifier")
	switch {
	case g.challenge == "" && verifier != "":
		return nil, errorf("invalid_grant", "code_verifier without code_challenge")
	case g.challenge != "" && verifier == "":
		return nil, errorf("invalid_grant", "code_verifier missing")
	case g.challenge != "" && (!validVerifier(verifier) ||
		subtle.ConstantTimeCompare([]byte(S256(verifier)), []byte(g.challenge)) != 1):
		return nil, errorf("invalid_grant", "code_verifier does not match")
	}
	return s.issueLocked(g.family, g.clientID, g.user, g.scopes, s.wantsRefresh(g.scopes)), nil
}

func (s *Server) grantRefresh(req *TokenRequest) (*TokenReply, *Error) {
	p := req.Params
	rt := p.Get("refresh_token")
	if rt == "" {
		return nil, errorf("invalid_request", "refresh_token missing")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.refresh[rt]
	if t == nil || s.revoked[t.family] || t.clientID != req.Client.ID {
		return nil, errorf("invalid_grant", "unknown refresh token")
	}
	if t.rotated && !s.cfg.LenientRotation {
		if s.cfg.ReuseDetection {
			s.revokeFamilyLocked(t.family) // RFC 9700 §4.14.2
		}
		return nil, errorf("invalid_grant", "refresh token already used")
	}
	if !s.live(t) {
		return nil, errorf("invalid_grant", "refresh token expired")
	}
	scopes := t.scopes
	if p.Has("scope") {
		scopes = splitScopes(p.Get("scope"))
		for _, sc := range scopes {
			if !slices.Contains(t.scopes, sc) {
				return nil, errorf("invalid_scope", "scope exceeds the original grant")
			}
		}
	}
	s.markReplacedLocked(t.family)
	if s.cfg.RevokeAccessOnRefresh {
		maps.DeleteFunc(s.access, func(_ string, a *tokenRecord) bool { return a.family == t.family })
	}
	if s.cfg.NoRotation {
		return s.issueLocked(t.family, t.clientID, t.user, scopes, false), nil
	}
	t.rotated = true
	return s.issueLocked(t.family, t.clientID, t.user, scopes, true), nil
}

func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointUserInfo)
	s.record(EndpointUserInfo, r, nil)
	if s.injectFailure(w, r, EndpointUserInfo) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") == "" {
		// RFC 6750 §3.1: no error code when no credentials were sent.
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q", s.cfg.Realm))
		s.renderError(w, r, &Error{Status: http.StatusUnauthorized, Code: "invalid_request", Description: "no access token"})
		return
	}
	info, ok := s.BearerToken(r)
	if !ok {
		s.renderError(w, r, &Error{Code: "invalid_token", Description: "access token unknown, expired or revoked"})
		return
	}
	WriteJSON(w, http.StatusOK, UserClaims(info.User))
}

// UserClaims returns u as OIDC-style userinfo claims: u.Claims plus sub,
// and name, email and picture when set.
func UserClaims(u User) map[string]any {
	c := make(map[string]any, len(u.Claims)+4)
	maps.Copy(c, u.Claims)
	c["sub"] = u.Subject
	for k, v := range map[string]string{"name": u.Name, "email": u.Email, "picture": u.Picture} {
		if v != "" {
			c[k] = v
		}
	}
	return c
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	s.count(EndpointRevoke)
	if r.Method != http.MethodPost {
		s.record(EndpointRevoke, r, nil)
		if s.injectFailure(w, r, EndpointRevoke) {
			return
		}
		w.Header().Set("Allow", http.MethodPost)
		s.renderError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "revocation requests are POSTs"})
		return
	}
	params, _, perr := s.parseParams(w, r)
	s.record(EndpointRevoke, r, params)
	if s.injectFailure(w, r, EndpointRevoke) {
		return
	}
	if perr != nil {
		s.renderError(w, r, perr)
		return
	}
	client, _, aerr := s.authenticateClient(r, params)
	if aerr != nil {
		s.renderError(w, r, aerr)
		return
	}
	tok := params.Get("token")
	if tok == "" {
		s.renderError(w, r, errorf("invalid_request", "token missing"))
		return
	}
	s.mu.Lock()
	known := s.revokeLocked(tok, client.ID)
	foreign := !known && (s.access[tok] != nil || s.refresh[tok] != nil)
	s.mu.Unlock()
	if foreign { // RFC 7009 §2.1: not issued to this client
		s.renderError(w, r, errorf("unauthorized_client", "token was issued to another client"))
		return
	}
	// RFC 7009 §2.2: 200 whether or not the token was known.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
