package jwtauth

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// buildJWKS renders the RFC 7517 §5 JSON Web Key Set once, at New. Only
// public members are ever copied in: kty, crv, x, y, kid, alg, use.
func (a *Authority) buildJWKS() ([]byte, error) {
	keys := make([]map[string]string, 0, len(a.keys))
	for _, k := range a.keys {
		if k.jwk != nil {
			keys = append(keys, k.jwk)
		}
	}
	return json.Marshal(struct {
		Keys []map[string]string `json:"keys"`
	}{keys})
}

// JWKS returns a handler that serves the public keys as a JSON Web Key Set
// (RFC 7517), for GET /auth/.well-known/jwks.json. Every key of the set is
// listed, the signing key first, so verifiers keep accepting tokens of a
// retiring key. An HS256 Authority has no public keys and serves
// {"keys":[]}. Only GET and HEAD are allowed; the document is cacheable for
// five minutes.
func (a *Authority) JWKS() http.Handler {
	body := a.jwks
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(jwksMaxAge))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(body)
		}
	})
}
