package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// discoveryDoc is the part of an OpenID Provider Metadata document
// (OpenID Connect Discovery 1.0 §3, RFC 8414 §2, RFC 9207 §3) Gatehouse
// reads.
type discoveryDoc struct {
	Issuer                        string   `json:"issuer"`
	AuthorizationEndpoint         string   `json:"authorization_endpoint"`
	TokenEndpoint                 string   `json:"token_endpoint"`
	UserInfoEndpoint              string   `json:"userinfo_endpoint"`
	JWKSURI                       string   `json:"jwks_uri"`
	RevocationEndpoint            string   `json:"revocation_endpoint"`
	EndSessionEndpoint            string   `json:"end_session_endpoint"`
	IDTokenSigningAlgs            []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	AuthorizationResponseIssParam bool     `json:"authorization_response_iss_parameter_supported"`
}

// DiscoveryURL returns the discovery document's URL for issuer: any
// trailing "/" removed, then "/.well-known/openid-configuration" appended
// (OpenID Connect Discovery 1.0 §4.1).
func DiscoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// discover fetches the discovery document at where and checks it: bounded
// like every upstream call (timeout, 1 MiB, no redirects), and its issuer
// must equal the configured one byte for byte (OpenID Connect Discovery
// 1.0 §4.3), wherever the document was read.
func discover(ctx context.Context, c *provider.Client, where, issuer string) (Endpoints, error) {
	resp, err := c.Do(ctx, "discovery", provider.Request{URL: where})
	if err != nil {
		return Endpoints{}, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	var d discoveryDoc
	if err := json.Unmarshal(resp.Body, &d); err != nil {
		return Endpoints{}, fmt.Errorf("%w: %s is not a valid discovery document: %v", ErrDiscovery, where, err)
	}
	if d.Issuer != issuer {
		return Endpoints{}, fmt.Errorf("%w: the discovery document's issuer %q differs from the configured Issuer %q", ErrDiscovery, d.Issuer, issuer)
	}
	return Endpoints{
		Authorization:                    d.AuthorizationEndpoint,
		Token:                            d.TokenEndpoint,
		JWKS:                             d.JWKSURI,
		UserInfo:                         d.UserInfoEndpoint,
		Revocation:                       d.RevocationEndpoint,
		EndSession:                       d.EndSessionEndpoint,
		SigningAlgs:                      d.IDTokenSigningAlgs,
		AuthMethods:                      d.TokenEndpointAuthMethods,
		AuthorizationResponseIssRequired: d.AuthorizationResponseIssParam,
	}, nil
}
