package whisk_test

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// A Whisk login that asks for a refresh token and goes straight to Google.
// The middleware supplies state and the PKCE challenge for each login.
func ExampleNew() {
	w, err := whisk.New(whisk.Config{
		ClientID:         "my-client-id",
		ClientSecret:     "my-client-secret", // sent only in token request bodies
		RedirectURL:      "https://app.example/auth/whisk/callback",
		Scopes:           []string{"user.profile:read,community.read"},
		Offline:          true, // adds offline_access
		IdentityProvider: "google",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := url.Parse(w.AuthURL(provider.AuthRequest{State: "state-from-middleware", CodeChallenge: "challenge"}))
	q := u.Query()
	fmt.Println(w.Name())
	fmt.Println(u.Host + u.Path)
	fmt.Println(q.Get("scope"))
	fmt.Println(q.Get("identity_provider"), q.Get("code_challenge_method"))
	fmt.Println(strings.Contains(u.String(), "my-client-secret"))
	// Output:
	// whisk
	// login.whisk.com/oauth/v2/authorize
	// user.profile:read community.read offline_access
	// google S256
	// false
}

// The implicit grant is off unless AllowImplicit is set, and then only
// through NewImplicit.
func ExampleNewImplicit() {
	cfg := whisk.Config{
		ClientID:     "my-client-id",
		ClientSecret: "my-client-secret",
		RedirectURL:  "https://app.example/auth/whisk/callback",
	}
	_, err := whisk.NewImplicit(cfg)
	fmt.Println(err)

	cfg.AllowImplicit = true
	w, err := whisk.NewImplicit(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := w.TokenFromFragment(url.Values{
		"access_token": {"token-from-fragment"}, "token_type": {"Bearer"}, "expires_in": {"86400"},
	})
	fmt.Println(tok.TokenType, tok.RefreshToken == "", err)
	// Output:
	// oauth2: implicit grant not enabled (set AllowImplicit)
	// Bearer true <nil>
}
