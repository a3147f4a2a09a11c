package oidctest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// A test of your relying party starts the fake OP, registers your client
// and points the relying party at Server.Issuer, using Server.Client()
// for its HTTP calls; with Gatehouse that is
//
//	op := oidctest.NewServer(oidctest.Config{Clients: ...})
//	defer op.Close()
//	p, err := oidc.New(ctx, oidc.Config{Issuer: op.Issuer, ClientID: "app", ClientSecret: "secret",
//		RedirectURL: "https://app.example/auth/oidc/callback", HTTPClient: op.Client()})
//
// Server.AuthorizeCode plays the browser at the authorization endpoint.
// Here the relying party's side is written out with net/http, to show
// what goes over the wire: discovery, the authorization request with PKCE
// and a nonce, the code exchange, and the ID token.
func ExampleNewServer() {
	op := oidctest.NewServer(oidctest.Config{
		Clients: []oidctest.Client{{ID: "app", Secret: "secret", RedirectURIs: []string{"https://app.example/auth/oidc/callback"}}},
		Users:   []oidctest.User{{Subject: "42", Name: "Ann", Email: "ann@example.test", EmailVerified: true}},
	})
	defer op.Close()
	hc := op.Client()

	// Discovery.
	resp, err := hc.Get(op.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		panic(err)
	}
	var doc struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	fmt.Println("issuer matches:", doc.Issuer == op.Issuer)

	// The authorization request, answered as a browser would.
	verifier := "dBjftJeZ4CVP-mJ92K9cQ3g5yY3eL0C8S9gQ6kAbCdE"
	sum := sha256.Sum256([]byte(verifier))
	authURL := doc.AuthorizationEndpoint + "?" + url.Values{
		"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"https://app.example/auth/oidc/callback"},
		"scope": {"openid email"}, "state": {"xyz"}, "nonce": {"n-0S6"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode()
	code, state, err := op.AuthorizeCode(context.Background(), authURL)
	if err != nil {
		panic(err)
	}
	fmt.Println("state:", state)

	// The code exchange.
	req, _ := http.NewRequest(http.MethodPost, doc.TokenEndpoint, strings.NewReader(url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://app.example/auth/oidc/callback"}, "code_verifier": {verifier},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "secret")
	resp, err = hc.Do(req)
	if err != nil {
		panic(err)
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	claims, _ := oidctest.IDTokenClaimsOf(tok.IDToken) // a real RP verifies it first
	fmt.Println("sub:", claims["sub"], "nonce:", claims["nonce"])
	// Output:
	// issuer matches: true
	// state: xyz
	// sub: 42 nonce: n-0S6
}

// Misbehave makes the OP break one rule, to test that the relying party
// refuses what it must (here: discovery must fail, as the document's
// issuer is not the one configured); the zero Misbehaviour restores
// correct behaviour.
func ExampleServer_Misbehave() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	issuer := func() string {
		resp, err := op.Client().Get(op.Issuer + "/.well-known/openid-configuration")
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Issuer string `json:"issuer"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		return doc.Issuer
	}

	op.Misbehave(oidctest.Misbehaviour{DiscoveryIssuer: "https://impostor.example"})
	fmt.Println(issuer())
	op.Misbehave(oidctest.Misbehaviour{})
	fmt.Println(issuer() == op.Issuer)
	// Output:
	// https://impostor.example
	// true
}

// BackChannelLogout ends an OP session and sends the relying party's
// back-channel logout endpoint a signed logout token for it, as the OP
// would when the user signs out there.
func ExampleServer_BackChannelLogout() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := oidctest.IDTokenClaimsOf(r.PostFormValue("logout_token")) // verify it in a real RP
		fmt.Println("logout of sid", claims["sid"], "for", claims["aud"])
		w.Header().Set("Cache-Control", "no-store")
	}))
	defer rp.Close()

	status, _, err := op.BackChannelLogout(context.Background(), rp.Client(), rp.URL+"/auth/oidc/backchannel-logout", "app", "", "op-session-1")
	fmt.Println(status, err)
	// Output:
	// logout of sid op-session-1 for app
	// 200 <nil>
}
