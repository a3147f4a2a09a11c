package oauth2_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// A full authorization-code login against the fake server: auth URL with
// state and PKCE, code exchange, identity, refresh.
func ExampleNew() {
	fake := oauth2test.NewServer(oauth2test.Config{
		Clients: []oauth2test.Client{{ID: "app", Secret: "secret", RedirectURIs: []string{"https://app.example/auth/generic/callback"}}},
		Users:   []oauth2test.User{{Subject: "42", Name: "Ann"}},
	})
	defer fake.Close()

	a, err := oauth2.New(oauth2.Config{
		Name:          "generic",
		ClientID:      "app",
		ClientSecret:  "secret",
		AuthURL:       fake.AuthorizeURL(),
		TokenURL:      fake.TokenURL(),
		UserInfoURL:   fake.UserInfoURL(),
		RevocationURL: fake.RevocationURL(),
		RedirectURL:   "https://app.example/auth/generic/callback",
		Scopes:        []string{"openid", "profile"},
		HTTPClient:    fake.Client(),
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	state, verifier := provider.NewState(), provider.NewVerifier()
	authURL := a.AuthURL(provider.AuthRequest{State: state, CodeChallenge: provider.S256Challenge(verifier)})

	// The browser goes to authURL and comes back with code and state.
	code, gotState, err := fake.AuthorizeCode(ctx, authURL)
	if err != nil || gotState != state {
		panic("state mismatch")
	}
	tok, err := a.Exchange(ctx, code, verifier)
	if err != nil {
		panic(err)
	}
	id, _ := a.Identity(ctx, tok)
	fresh, _ := a.Refresh(ctx, tok)
	fmt.Println(id.Provider, id.Subject, id.Name, tok.Scopes, fresh.Valid())
	// Output: generic 42 Ann [openid profile] true
}

// An adapter declares the hosts that may receive the user's credential
// (provider.APIHoster): the userinfo host plus Config.APIHosts. The
// middleware's upstream client (middleware.Auth.Client) refuses to send the
// credential anywhere else.
func ExampleAdapter_APIHosts() {
	a, err := oauth2.New(oauth2.Config{
		Name:        "example",
		ClientID:    "client-id",
		AuthURL:     "https://login.example.com/authorize",
		TokenURL:    "https://login.example.com/token",
		RedirectURL: "https://app.example.com/auth/example/callback",
		UserInfoURL: "https://api.example.com/me",
		APIHosts:    []string{"uploads.example.com"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var p provider.Provider = a
	if h, ok := p.(provider.APIHoster); ok {
		fmt.Println(h.APIHosts())
	}
	// Output: [api.example.com uploads.example.com]
}
