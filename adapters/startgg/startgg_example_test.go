package startgg_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg/startggtest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Configuring the adapter for the real start.gg: only the client
// credentials and the callback are needed; the hosts, paths and the
// user.identity scope are defaults. The secret never appears in the
// authorize URL.
func ExampleNew() {
	a, err := startgg.New(startgg.Config{
		ClientID:     "123",
		ClientSecret: "client-secret", // load it from your secret store

		RedirectURL: "https://app.example/auth/startgg/callback",
		Scopes:      []string{startgg.ScopeIdentity, startgg.ScopeEmail},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Name(), a.Scopes())
	fmt.Println(a.AuthURL(provider.AuthRequest{State: "state123"}))
	fmt.Println(a.GraphQLURL())
	// Output:
	// startgg [user.identity user.email]
	// https://start.gg/oauth/authorize?client_id=123&redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Fstartgg%2Fcallback&response_type=code&scope=user.identity%20user.email&state=state123
	// https://api.start.gg/gql/alpha
}

// The whole flow against the fake start.gg: one base URL serves both the
// authorize "host" and the API "host".
func ExampleAdapter_Identity() {
	fake := startggtest.NewServer(startggtest.Config{RedirectURIs: []string{"https://app.example/cb"}})
	defer fake.Close()

	a, err := startgg.New(startgg.Config{
		ClientID:     startggtest.DefaultClientID,
		ClientSecret: startggtest.DefaultClientSecret,
		RedirectURL:  "https://app.example/cb",
		AuthBaseURL:  fake.URL,
		APIBaseURL:   fake.URL,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	state, verifier := provider.NewState(), provider.NewVerifier()
	code, _, err := fake.AuthorizeCode(ctx, a.AuthURL(provider.AuthRequest{State: state, CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := a.Exchange(ctx, code, verifier)
	if err != nil {
		fmt.Println(err)
		return
	}
	id, err := a.Identity(ctx, tok)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id.Provider, id.Subject, id.Name, tok.Scopes)
	// Output: startgg 123456 Player 123456 [user.identity]
}
