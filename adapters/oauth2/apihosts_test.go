package oauth2_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func TestAPIHosts(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.UserInfoURL = "https://api.example:8443/me"
	cfg.APIHosts = []string{"uploads.example", "cdn.example:444"}
	a, err := oauth2.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var h provider.APIHoster = a
	want := []string{"api.example:8443", "uploads.example", "cdn.example:444"}
	if got := h.APIHosts(); !slices.Equal(got, want) {
		t.Fatalf("APIHosts = %q, want %q", got, want)
	}
	cfg.APIHosts[0] = "mutated.example"
	if got := a.APIHosts(); got[1] != "uploads.example" {
		t.Fatalf("APIHosts shares the caller's slice: %q", got)
	}

	// Identity func, no userinfo URL, no APIHosts: declares nothing.
	cfg = validConfig()
	cfg.UserInfoURL = ""
	cfg.Identity = func(_ context.Context, _ *provider.Client, _ *provider.Token) (*provider.Identity, error) {
		return nil, nil
	}
	b, err := oauth2.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.APIHosts(); len(got) != 0 {
		t.Fatalf("APIHosts = %q, want none", got)
	}

	for _, bad := range []string{"", "https://api.example", "api.example/x", "user@api.example", "a b"} {
		cfg := validConfig()
		cfg.APIHosts = []string{bad}
		if _, err := oauth2.New(cfg); !errors.Is(err, oauth2.ErrConfig) {
			t.Errorf("APIHosts %q: err %v, want ErrConfig", bad, err)
		}
	}
}
