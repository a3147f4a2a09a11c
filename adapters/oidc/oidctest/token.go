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

// refreshRecord is a refresh token: the grant it belongs to and whether a
// newer one replaced it.
type refreshRecord struct {
	g       *grant
	rotated bool
}

// authenticate checks client authentication: HTTP Basic
// (client_secret_basic, form-urlencoded id and secret), client_secret in
// the body (client_secret_post), or client_id alone for public clients.
func (s *Server) authenticate(r *http.Request) (*Client, bool) {
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
	if r.Method != http.MethodPost {
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
	c, ok := s.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.grantCode(w, r, c)
	case "refresh_token":
		s.grantRefresh(w, r, c)
	default:
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

func (s *Server) grantCode(w http.ResponseWriter, r *http.Request, c *Client) {
	code := r.PostForm.Get("code")
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
	s.mu.Lock()
	rec := s.refresh[rt]
	var reuse bool
	if rec != nil && rec.rotated {
		reuse = true
		if !s.cfg.NoReuseDetection {
			s.revoked[rec.g] = true // RFC 9700 §4.14.2: the whole grant dies
		}
	}
	s.mu.Unlock()
	switch {
	case rec == nil || reuse || s.isRevoked(rec.g):
		writeError(w, http.StatusBadRequest, "invalid_grant", "unknown, rotated or revoked refresh token")
		return
	case rec.g.client != c:
		writeError(w, http.StatusBadRequest, "invalid_grant", "refresh token issued to another client")
		return
	}
	if !s.cfg.NoRotation {
		s.mu.Lock()
		rec.rotated = true
		s.mu.Unlock()
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
	s.access[at] = g
	g.accessExp = now.Add(s.cfg.AccessTTL)
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

// IDTokenClaims returns the claims of a correct ID token for g.
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
	payload, err := json.Marshal(claims)
	if err != nil {
		panic("oidctest: claims: " + err.Error())
	}
	k := s.signingKey()
	b64 := base64.RawURLEncoding.EncodeToString
	switch {
	case m.AlgNone:
		return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(payload) + "."
	case m.HS256PublicKey:
		der, _ := x509.MarshalPKIXPublicKey(k.priv.Public())
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		hdr, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT", "kid": k.kid})
		input := b64(hdr) + "." + b64(payload)
		mac := hmac.New(sha256.New, pemKey)
		mac.Write([]byte(input))
		return input + "." + b64(mac.Sum(nil))
	}
	priv := k.priv
	if m.WrongKey {
		priv = newKey(k.alg).priv
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
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

// handleUserInfo answers the user's claims for a live access token
// (Authorization: Bearer only; a token in the query is refused).
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointUserInfo) {
		return
	}
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	g := s.access[at]
	s.mu.Unlock()
	if !ok || g == nil || s.isRevoked(g) || s.now().After(g.accessExp) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "")
		return
	}
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

// handleRevoke is RFC 7009: a refresh token revokes its grant, an access
// token itself; unknown tokens are fine (200).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointRevoke) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "")
		return
	}
	c, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	if rec := s.refresh[tok]; rec != nil && rec.g.client == c {
		s.revoked[rec.g] = true
	}
	if g := s.access[tok]; g != nil && g.client == c {
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
