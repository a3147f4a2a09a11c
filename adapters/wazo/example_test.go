package wazo_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
)

// ExampleNew configures the adapter for a Wazo platform and logs a user in.
// In production BaseURL is the platform's proxy path, for example
// "https://wazo.example.com/api/auth/0.1"; here it is an in-process fake.
func ExampleNew() {
	srv := wazotest.NewServer(wazotest.Config{Users: []wazotest.User{{
		Username: "alice", Password: "correct horse", UUID: "8d7d5d3c-6a0e-4b4a-9d38-2f7f0c1f9a11",
	}}})
	defer srv.Close()

	p, err := wazo.New(wazo.Config{
		BaseURL:    srv.URL,          // e.g. https://wazo.example.com/api/auth/0.1
		ClientID:   "my-app",         // asks for a refresh token (offline access)
		Expiration: 3600,             // seconds
		HTTPClient: srv.Client(),     // optional; the default has timeouts
		Timeout:    10 * time.Second, // optional
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	tok, err := p.Login(ctx, "alice", "correct horse") // the password is not kept
	if err != nil {
		panic(err)
	}
	id, _ := p.Identity(ctx, tok) // no network call: the reply named the user
	fmt.Println("user:", id.Subject)
	fmt.Println("refreshable:", tok.RefreshToken != "")
	fmt.Println("expires in about:", time.Until(tok.Expiry).Round(time.Minute))

	// Calls to Wazo APIs carry X-Auth-Token.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/users/me/tokens", nil)
	p.SetCredential(req, tok)
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("API:", resp.Status)

	_ = p.Revoke(ctx, tok) // logout
	// Output:
	// user: 8d7d5d3c-6a0e-4b4a-9d38-2f7f0c1f9a11
	// refreshable: true
	// expires in about: 1h0m0s
	// API: 200 OK
}
