package oidc

import "github.com/gatehouse-auth/gatehouse/adapters/oauth2"

// CheckClient checks the client fields a preset built on this package
// passes on to [New] — ClientID present, RedirectURL and
// PostLogoutRedirectURL (when set) absolute https URLs, or http on a
// loopback host — before any discovery request is made. Problems are
// *oauth2.ConfigError values labelled with the preset's own sentinel pkg,
// so that they read "okta: invalid config: ClientID is required".
func CheckClient(pkg error, clientID, redirectURL, postLogoutRedirectURL string) error {
	if clientID == "" {
		return &oauth2.ConfigError{Pkg: pkg, Field: "ClientID", Problem: "is required"}
	}
	for _, f := range []struct{ field, url string }{{"RedirectURL", redirectURL}, {"PostLogoutRedirectURL", postLogoutRedirectURL}} {
		if f.url == "" {
			continue
		}
		if err := oauth2.CheckURL(f.url); err != nil {
			return &oauth2.ConfigError{Pkg: pkg, Field: f.field, Problem: err.Error()}
		}
	}
	return nil
}
