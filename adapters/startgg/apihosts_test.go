package startgg_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestAPIHosts: the credential host is the APIBaseURL (GraphQL) host, not
// the embedded oauth2.Adapter's empty set nor the AuthBaseURL host.
func TestAPIHosts(t *testing.T) {
	for base, want := range map[string]string{"": "api.start.gg", "http://127.0.0.1:9999/": "127.0.0.1:9999"} {
		a, err := startgg.New(startgg.Config{
			ClientID: "id", ClientSecret: "secret", RedirectURL: "https://app.example/auth/startgg/callback",
			AuthBaseURL: "https://auth.example", APIBaseURL: base,
		})
		if err != nil {
			t.Fatal(err)
		}
		var h provider.APIHoster = a
		if got := h.APIHosts(); !slices.Equal(got, []string{want}) {
			t.Errorf("APIBaseURL %q: APIHosts = %q, want [%q]", base, got, want)
		}
	}
}
