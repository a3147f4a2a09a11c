package wazo_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func TestAPIHosts(t *testing.T) {
	p, err := wazo.New(wazo.Config{BaseURL: "https://wazo.example:8443/api/auth/0.1/"})
	if err != nil {
		t.Fatal(err)
	}
	var h provider.APIHoster = p
	if got := h.APIHosts(); !slices.Equal(got, []string{"wazo.example:8443"}) {
		t.Fatalf("APIHosts = %q", got)
	}
}
