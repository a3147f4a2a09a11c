package github_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/adapters/github"
	"github.com/gatehouse-auth/gatehouse/adapters/github/githubtest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// ExampleNew logs in against a fake GitHub. In production leave BaseURL
// and APIURL empty (github.com), or set BaseURL to a GitHub Enterprise
// Server.
func ExampleNew() {
	s := githubtest.NewServer(githubtest.Config{})
	defer s.Close()

	p, err := github.New(github.Config{
		ClientID:     githubtest.DefaultClientID,
		ClientSecret: githubtest.DefaultClientSecret,
		RedirectURL:  githubtest.DefaultRedirectURI,
		BaseURL:      s.URL,
		APIURL:       s.URL,
		HTTPClient:   s.Client(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// What the middleware does at /auth/github/login and /callback:
	ctx := context.Background()
	verifier := provider.NewVerifier()
	code, _, _ := s.AuthorizeCode(ctx, p.AuthURL(provider.AuthRequest{State: provider.NewState(), CodeChallenge: provider.S256Challenge(verifier)}))
	tok, err := p.Exchange(ctx, code, verifier)
	if err != nil {
		fmt.Println(err)
		return
	}
	id, err := p.Identity(ctx, tok)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id.Subject, id.Name, id.Email)
	// Output: 583231 The Octocat octocat@github.com
}
