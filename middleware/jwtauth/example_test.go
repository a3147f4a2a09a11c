package jwtauth_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
)

// A fixed clock keeps the examples deterministic; leave Now nil in real code.
var exampleNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ExampleNew() {
	// Keys come from configuration; a demo may generate one at start.
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := jwtauth.New(jwtauth.Config{
		Issuer:   "https://app.example",
		Audience: "https://app.example/api",
		Keys:     []jwtauth.Key{key},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(auth.Algorithm(), auth.Lifetime())

	// Weak keys are refused at start-up, not at the first request.
	_, err = jwtauth.New(jwtauth.Config{
		Issuer:    "https://app.example",
		Audience:  "https://app.example/api",
		Algorithm: jwtauth.HS256,
		Keys:      []jwtauth.Key{{ID: "hmac-1", Private: []byte("too short")}},
	})
	fmt.Println(errors.Is(err, jwtauth.ErrInvalidConfig))
	// Output:
	// EdDSA 15m0s
	// true
}

func ExampleAuthority_Mint() {
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		log.Fatal(err)
	}
	key.ID = "2025-06" // a kid of your choosing
	auth, err := jwtauth.New(jwtauth.Config{
		Issuer:   "https://app.example",
		Audience: "https://app.example/api",
		Keys:     []jwtauth.Key{key},
		Now:      func() time.Time { return exampleNow },
	})
	if err != nil {
		log.Fatal(err)
	}
	// sub is the identity's subject, sid the server-side session id.
	token, expiresIn, err := auth.Mint("user-42", "session-7", "github", []string{"read:user"})
	if err != nil {
		log.Fatal(err)
	}
	// The body of a POST /auth/token reply.
	reply, _ := json.Marshal(map[string]any{
		"token_type": "Bearer",
		"expires_in": int(expiresIn.Seconds()),
	})
	fmt.Println(string(reply))
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	fmt.Println(string(header))
	// Output:
	// {"expires_in":900,"token_type":"Bearer"}
	// {"alg":"EdDSA","kid":"2025-06","typ":"at+jwt"}
}

func ExampleAuthority_Verify() {
	key, err := jwtauth.GenerateKey(jwtauth.ES256)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := jwtauth.New(jwtauth.Config{
		Issuer:    "https://app.example",
		Audience:  "https://app.example/api",
		Algorithm: jwtauth.ES256,
		Keys:      []jwtauth.Key{key},
		Now:       func() time.Time { return exampleNow },
	})
	if err != nil {
		log.Fatal(err)
	}
	token, _, err := auth.Mint("user-42", "session-7", "github", []string{"read:user", "repo"})
	if err != nil {
		log.Fatal(err)
	}

	// Verify takes the Authorization header value as it arrives.
	claims, err := auth.Verify("Bearer " + token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.SessionID, claims.Provider, claims.Scope)
	fmt.Println(claims.ExpiresAt.Sub(claims.IssuedAt.Time))
	// The caller must still check that the session claims.SessionID exists.

	// Anything else is ErrInvalidToken, with no detail for the client; the
	// reason is for the server's log.
	_, err = auth.Verify("Bearer " + token[:len(token)-4] + "AAAA")
	var ite jwtauth.InvalidTokenError
	fmt.Println(errors.Is(err, jwtauth.ErrInvalidToken), err)
	if errors.As(err, &ite) {
		fmt.Println("log:", ite.Reason)
	}
	// Output:
	// user-42 session-7 github read:user repo
	// 15m0s
	// true jwtauth: invalid token
	// log: bad signature or algorithm
}

func ExampleAuthority_JWKS() {
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := jwtauth.New(jwtauth.Config{
		Issuer:   "https://app.example",
		Audience: "https://app.example/api",
		Keys:     []jwtauth.Key{key},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /auth/.well-known/jwks.json", auth.JWKS())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/auth/.well-known/jwks.json", nil))
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		log.Fatal(err)
	}
	k := set.Keys[0]
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	fmt.Println(len(set.Keys), k["kty"], k["crv"], k["alg"], k["use"], k["kid"] == key.ID)
	// Output:
	// 200 application/json public, max-age=300
	// 1 OKP Ed25519 EdDSA sig true
}

// Rotation: prepend the new key and keep the old one until every token it
// signed has expired (Lifetime + Leeway); then drop it.
func ExampleConfig_rotation() {
	oldKey, _ := jwtauth.GenerateKey(jwtauth.EdDSA)
	newKey, _ := jwtauth.GenerateKey(jwtauth.EdDSA)
	cfg := jwtauth.Config{
		Issuer:   "https://app.example",
		Audience: "https://app.example/api",
		Keys:     []jwtauth.Key{oldKey},
		Now:      func() time.Time { return exampleNow },
	}
	before, _ := jwtauth.New(cfg)
	oldToken, _, _ := before.Mint("user-42", "session-7", "github", nil)

	cfg.Keys = []jwtauth.Key{newKey, oldKey} // Keys[0] signs, all verify
	during, _ := jwtauth.New(cfg)
	newToken, _, _ := during.Mint("user-42", "session-7", "github", nil)
	_, errOld := during.Verify(oldToken)
	_, errNew := during.Verify(newToken)
	fmt.Println(errOld == nil, errNew == nil)

	cfg.Keys = []jwtauth.Key{newKey} // 15m30s later
	after, _ := jwtauth.New(cfg)
	_, errOld = after.Verify(oldToken)
	fmt.Println(errors.Is(errOld, jwtauth.ErrInvalidToken))
	// Output:
	// true true
	// true
}
