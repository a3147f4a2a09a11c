package customadapter_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/examples/customadapter"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestAPIHosts: the embedded engine declares the APIURL host (from its
// userinfo URL), not the OAuth host github.com.
func TestAPIHosts(t *testing.T) {
	gh, err := customadapter.New(customadapter.Config{
		ClientID: "id", ClientSecret: "secret", RedirectURL: "https://app.example/auth/github/callback",
	})
	if err != nil {
		t.Fatal(err)
	}
	var h provider.APIHoster = gh
	if got := h.APIHosts(); !slices.Equal(got, []string{"api.github.com"}) {
		t.Fatalf("APIHosts = %q", got)
	}
}
