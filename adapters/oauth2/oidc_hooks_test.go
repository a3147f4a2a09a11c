package oauth2_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// RFC 9207: Config.Issuer and IssuerRequired reach the middleware's
// IssuerProvider check through Adapter.Issuer.
func TestIssuer(t *testing.T) {
	t.Parallel()
	s := newFake(t, oauth2test.Config{})
	a := adapterFor(t, s, nil)
	if iss, req := a.Issuer(); iss != "" || req {
		t.Fatalf("unset: %q %v", iss, req)
	}
	a = adapterFor(t, s, func(c *oauth2.Config) { c.Issuer, c.IssuerRequired = "https://as.example", true })
	if iss, req := a.Issuer(); iss != "https://as.example" || !req {
		t.Fatalf("set: %q %v", iss, req)
	}
	for name, edit := range map[string]func(*oauth2.Config){
		"required without issuer": func(c *oauth2.Config) { c.IssuerRequired = true },
		"http issuer":             func(c *oauth2.Config) { c.Issuer = "http://as.example" },
	} {
		cfg := oauth2.Config{Name: "x", ClientID: "c", AuthURL: s.AuthorizeURL(), TokenURL: s.TokenURL(), UserInfoURL: s.UserInfoURL(), RedirectURL: testRedirect}
		edit(&cfg)
		if _, err := oauth2.New(cfg); !errors.Is(err, oauth2.ErrConfig) {
			t.Errorf("%s: %v; want ErrConfig", name, err)
		}
	}
}

// AuthRequest.Nonce becomes "nonce"; static or per-request params cannot
// set or override it.
func TestAuthURLNonce(t *testing.T) {
	t.Parallel()
	s := newFake(t, oauth2test.Config{})
	a := adapterFor(t, s, func(c *oauth2.Config) { c.AuthParams = url.Values{"nonce": {"static"}} })
	u, _ := url.Parse(a.AuthURL(provider.AuthRequest{State: "s", Nonce: "n-1", Params: url.Values{"nonce": {"req"}}}))
	if got := u.Query()["nonce"]; len(got) != 1 || got[0] != "n-1" {
		t.Fatalf("nonce %v", got)
	}
	u, _ = url.Parse(a.AuthURL(provider.AuthRequest{State: "s", Params: url.Values{"nonce": {"req"}}}))
	if u.Query().Has("nonce") {
		t.Fatalf("nonce without AuthRequest.Nonce: %v", u.Query())
	}
}

// ExchangeReply and RefreshReply expose the reply's extra fields (an OIDC
// layer reads id_token there); the token is the same as Exchange's.
func TestReplyFields(t *testing.T) {
	t.Parallel()
	s := newFake(t, oauth2test.Config{RenderToken: func(w http.ResponseWriter, _ *http.Request, reply *oauth2test.TokenReply) {
		reply.Extra = map[string]any{"id_token": "header.payload.sig"}
		oauth2test.WriteToken(w, reply)
	}})
	a := adapterFor(t, s, nil)
	v := provider.NewVerifier()
	code, _, err := s.AuthorizeCode(context.Background(), a.AuthURL(provider.AuthRequest{State: "s", CodeChallenge: provider.S256Challenge(v)}))
	if err != nil {
		t.Fatal(err)
	}
	tok, fields, err := a.ExchangeReply(context.Background(), code, v)
	if err != nil || tok.AccessToken == "" || fields["id_token"] != "header.payload.sig" || fields["access_token"] != tok.AccessToken {
		t.Fatalf("ExchangeReply: %v %v %v", tok, fields, err)
	}
	fresh, fields, err := a.RefreshReply(context.Background(), tok)
	if err != nil || fresh.AccessToken == tok.AccessToken || fields["id_token"] != "header.payload.sig" {
		t.Fatalf("RefreshReply: %v %v %v", fresh, fields, err)
	}
}
