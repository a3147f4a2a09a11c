package oidctest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// accessRecord is an access token: the grant it belongs to and its own
// expiry.
type accessRecord struct {
	g   *grant
	exp time.Time
}

// refreshRecord is a refresh token: the grant it belongs to and whether a
// newer one replaced it.
type refreshRecord struct {
	g       *grant
	rotated bool
}

// errTwoAuthMethods is authenticate's answer to a request that uses HTTP
// Basic and client_secret in the body at once.
const errTwoAuthMethods = "the client must not use more than one authentication method"

// authenticate checks client authentication: HTTP Basic
// (client_secret_basic, form-urlencoded id and secret), client_secret in
// the body (client_secret_post), or client_id alone for public clients.
// A request using Basic and client_secret together is refused (RFC 6749
// §2.3: a client MUST NOT use more than one method per request); the
// caller answers invalid_request when twoMethods is set.
func (s *Server) authenticate(r *http.Request) (c *Client, ok, twoMethods bool) {
	c, ok = s.authenticateOne(r)
	if _, _, basic := r.BasicAuth(); basic && r.PostForm.Has("client_secret") {
		return nil, false, true
	}
	return c, ok, false
}

func (s *Server) authenticateOne(r *http.Request) (*Client, bool) {
	if id, secret, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		c := s.findClient(id)
		if c == nil || c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
			return nil, false
		}
		return c, true
	}
	c := s.findClient(r.PostForm.Get("client_id"))
	if c == nil {
		return nil, false
	}
	if c.Secret == "" {
		return c, r.PostForm.Get("client_secret") == ""
	}
	return c, subtle.ConstantTimeCompare([]byte(c.Secret), []byte(r.PostForm.Get("client_secret"))) == 1
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointToken) {
		return
	}
	// RFC 6749 §5.1: token replies, errors included, are not cached.
	w.Header().Set("Pragma", "no-cache")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	if r.PostForm.Get("grant_type") == "refresh_token" && s.enter(w, r, EndpointRefresh) {
		return
	}
	c, ok, two := s.authenticate(r)
	switch {
	case two:
		writeError(w, http.StatusBadRequest, "invalid_request", errTwoAuthMethods)
		return
	case !ok:
		// RFC 6749 §5.2: 401, with WWW-Authenticate for a client that
		// tried HTTP Basic.
		if _, _, basic := r.BasicAuth(); basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.grantCode(w, r, c)
	case "refresh_token":
		s.grantRefresh(w, r, c)
	case "":
		writeError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

func (s *Server) grantCode(w http.ResponseWriter, r *http.Request, c *Client) {
	code := r.PostForm.Get("code")
	if code == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "code is required")
		return
	}
	s.mu.Lock()
	g := s.codes[code]
	if g != nil && g.used {
		// A replayed code revokes what it issued (RFC 6749 §4.1.2).
		s.revoked[g] = true
	}
	if g != nil {
		g.used = true
	}
	s.mu.Unlock()
	switch {
	case g == nil || s.isRevoked(g):
		writeError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
		return
	case g.client != c:
		writeError(w, http.StatusBadRequest, "invalid_grant", "code issued to another client")
		return
	case s.now().After(g.expiry):
		writeError(w, http.StatusBadRequest, "invalid_grant", "code expired")
		return
	case r.PostForm.Get("redirect_uri") != g.redirect:
		writeError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs")
		return
	}
	v := r.PostForm.Get("code_verifier")
	sum := sha256.Sum256([]byte(v))
	if len(v) < 43 || len(v) > 128 || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		writeError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	s.issue(w, g, false)
}

func (s *Server) grantRefresh(w http.ResponseWriter, r *http.Request, c *Client) {
	rt := r.PostForm.Get("refresh_token")
	if rt == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}
	// Check and rotate under one lock, so that of two concurrent uses of
	// one refresh token exactly one succeeds and the other is a reuse.
	s.mu.Lock()
	rec := s.refresh[rt]
	var reuse, otherClient, revoked bool
	switch {
	case rec == nil:
	case rec.rotated:
		reuse = true
		if !s.cfg.NoReuseDetection {
			s.revoked[rec.g] = true // RFC 9700 §4.14.2: the whole grant dies
		}
	case rec.g.client != c:
		otherClient = true
	case s.revoked[rec.g]:
		revoked = true
	case !s.cfg.NoRotation:
		rec.rotated = true
	}
	s.mu.Unlock()
	switch {
	case rec == nil || reuse || revoked:
		writeError(w, http.StatusBadRequest, "invalid_grant", "unknown, rotated or revoked refresh token")
		return
	case otherClient:
		writeError(w, http.StatusBadRequest, "invalid_grant", "refresh token issued to another client")
		return
	}
	s.issue(w, rec.g, true)
}

func (s *Server) isRevoked(g *grant) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked[g]
}

// issue writes a token reply for g: access token, refresh token (new, or
// none with NoRotation on refresh), and an ID token.
func (s *Server) issue(w http.ResponseWriter, g *grant, refresh bool) {
	at := randomString(32)
	now := s.now()
	reply := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int64(s.cfg.AccessTTL / time.Second),
		"scope": strings.Join(g.scopes, " ")}
	s.mu.Lock()
	s.access[at] = &accessRecord{g: g, exp: now.Add(s.cfg.AccessTTL)}
	if !refresh || !s.cfg.NoRotation {
		rt := randomString(32)
		s.refresh[rt] = &refreshRecord{g: g}
		reply["refresh_token"] = rt
	}
	s.mu.Unlock()
	m := s.misbehaviour()
	if !(refresh && s.cfg.NoIDTokenOnRefresh) && !(!refresh && m.OmitIDToken) {
		reply["id_token"] = s.idToken(g, at, refresh, m)
	}
	writeJSON(w, http.StatusOK, reply)
}

// idClaims returns the claims of an ID token for g, with the claim
// misbehaviours of m applied.
func (s *Server) idClaims(g *grant, accessToken string, refresh bool, m Misbehaviour) map[string]any {
	now := s.now()
	c := map[string]any{
		"iss":       s.Issuer,
		"sub":       g.user.Subject,
		"aud":       []string{g.client.ID},
		"exp":       unix(now.Add(s.cfg.IDTokenTTL)),
		"iat":       unix(now),
		"auth_time": unix(g.authTime),
		"sid":       g.sid,
	}
	if g.nonce != "" && !refresh {
		c["nonce"] = g.nonce
	}
	if accessToken != "" {
		c["at_hash"] = halfHash(accessToken)
	}
	if g.user.Name != "" {
		c["name"] = g.user.Name
	}
	if g.user.Email != "" {
		c["email"] = g.user.Email
		c["email_verified"] = g.user.EmailVerified
	}
	if m.IDTokenIss != "" {
		c["iss"] = m.IDTokenIss
	}
	if m.IDTokenAud != nil {
		c["aud"] = m.IDTokenAud
	}
	if m.Azp != "" {
		c["azp"] = m.Azp
	}
	switch {
	case m.OmitNonce:
		delete(c, "nonce")
	case m.WrongNonce:
		c["nonce"] = randomString(16)
	}
	if m.WrongAtHash {
		c["at_hash"] = halfHash("not-the-access-token")
	}
	if m.Expired {
		c["exp"] = unix(now.Add(-time.Minute))
		c["iat"] = unix(now.Add(-time.Hour))
	}
	for claim, omit := range map[string]bool{"iat": m.OmitIat, "sub": m.OmitSub, "exp": m.OmitExp} {
		if omit {
			delete(c, claim)
		}
	}
	if refresh {
		if m.RefreshIss != "" {
			c["iss"] = m.RefreshIss
		}
		if m.RefreshSub != "" {
			c["sub"] = m.RefreshSub
		}
		if m.RefreshAud != nil {
			c["aud"] = m.RefreshAud
		}
	}
	return c
}

func (s *Server) idToken(g *grant, accessToken string, refresh bool, m Misbehaviour) string {
	return s.signWith(s.idClaims(g, accessToken, refresh, m), m)
}

// halfHash is at_hash for SHA-256 algorithms (RS256, ES256): the left half
// of the hash, base64url (OpenID Connect Core §3.1.3.6).
func halfHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// SignJWT signs claims with the current key (kid in the header), as the OP
// signs its ID and logout tokens. The signing misbehaviours apply.
func (s *Server) SignJWT(claims map[string]any) string { return s.signWith(claims, s.misbehaviour()) }

func (s *Server) signWith(claims map[string]any, m Misbehaviour) string {
	return s.sign(claims, m, "JWT")
}

// sign is signWith with the typ header typ.
func (s *Server) sign(claims map[string]any, m Misbehaviour, typ string) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic("oidctest: claims: " + err.Error())
	}
	k := s.signingKey()
	b64 := base64.RawURLEncoding.EncodeToString
	switch {
	case m.AlgNone:
		hdr, _ := json.Marshal(map[string]string{"alg": "none", "typ": typ})
		return b64(hdr) + "." + b64(payload) + "."
	case m.HS256PublicKey:
		der, _ := x509.MarshalPKIXPublicKey(k.priv.Public())
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		hdr, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": typ, "kid": k.kid})
		input := b64(hdr) + "." + b64(payload)
		mac := hmac.New(sha256.New, pemKey)
		mac.Write([]byte(input))
		return input + "." + b64(mac.Sum(nil))
	}
	priv := k.priv
	if m.WrongKey {
		priv = newKey(k.alg).priv
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if !m.OmitKid {
		opts = opts.WithHeader(jose.HeaderKey("kid"), k.kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: priv}, opts)
	if err != nil {
		panic("oidctest: signer: " + err.Error())
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic("oidctest: sign: " + err.Error())
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		panic("oidctest: serialize: " + err.Error())
	}
	if m.BadSignature {
		i := strings.LastIndexByte(out, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(out[i+1:])
		sig[len(sig)/2] ^= 0x5a
		out = out[:i+1] + b64(sig)
	}
	return out
}

// bearer returns the access token of an Authorization: Bearer header (the
// scheme is case-insensitive, RFC 7235 §2.1).
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

// handleUserInfo answers the user's claims for a live access token
// (Authorization: Bearer only, RFC 6750 §2.1; a token in the query or the
// body counts as no credentials). No credentials: 401 with
// WWW-Authenticate: Bearer and no error code (RFC 6750 §3.1); an unknown,
// expired or revoked token: 401 with error="invalid_token".
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointUserInfo) {
		return
	}
	at, ok := bearer(r)
	if !ok {
		// RFC 6750 §3.1: a request without credentials gets no error code.
		w.Header().Set("WWW-Authenticate", `Bearer realm="oidctest"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	rec := s.access[at]
	s.mu.Unlock()
	if rec == nil || s.isRevoked(rec.g) || s.now().After(rec.exp) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oidctest", error="invalid_token", error_description="The access token is unknown, expired or revoked"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "The access token is unknown, expired or revoked")
		return
	}
	g := rec.g
	c := map[string]any{}
	for k, v := range g.user.Claims {
		c[k] = v
	}
	c["sub"] = g.user.Subject
	if g.user.Name != "" {
		c["name"] = g.user.Name
	}
	if g.user.Email != "" {
		c["email"] = g.user.Email
		c["email_verified"] = g.user.EmailVerified
	}
	if g.user.Picture != "" {
		c["picture"] = g.user.Picture
	}
	if m := s.misbehaviour(); m.UserInfoSub != "" {
		c["sub"] = m.UserInfoSub
	}
	writeJSON(w, http.StatusOK, c)
}

// handleRevoke is RFC 7009: POST with client authentication; a refresh
// token revokes its grant (and every access token of it), an access token
// itself; an unknown or already revoked token is fine (200, §2.2); a token
// of another client is refused (400 unauthorized_client, §2.1); no token
// is 400 invalid_request.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointRevoke) {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if r.ParseForm() != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	c, ok, two := s.authenticate(r)
	switch {
	case two:
		writeError(w, http.StatusBadRequest, "invalid_request", errTwoAuthMethods)
		return
	case !ok:
		if _, _, basic := r.BasicAuth(); basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	s.mu.Lock()
	var g *grant
	isRefresh := false
	if rec := s.refresh[tok]; rec != nil {
		g, isRefresh = rec.g, true
	} else if rec := s.access[tok]; rec != nil {
		g = rec.g
	}
	if g != nil && g.client != c {
		s.mu.Unlock()
		// RFC 7009 §2.1: a token issued to another client is refused.
		writeError(w, http.StatusBadRequest, "unauthorized_client", "the token was issued to another client")
		return
	}
	switch {
	case isRefresh:
		s.revoked[g] = true // and with it every access token of the grant
	case g != nil:
		delete(s.access, tok)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// Revoked reports whether the grant behind refresh token rt was revoked
// (by revocation, reuse detection, code replay or logout).
func (s *Server) Revoked(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.refresh[rt]
	return rec != nil && s.revoked[rec.g]
}
