package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestDisplayNameDefaults: the built-in pages name a provider by the app's
// Pages.Display first, then by the adapter's own DisplayName (the presets
// set one: "GitHub", "Okta"), and only then by its route name.
func TestDisplayNameDefaults(t *testing.T) {
	t.Parallel()
	newAdapter := func(name, display string) provider.Provider {
		t.Helper()
		p, err := oauth2.New(oauth2.Config{Name: name, DisplayName: display, ClientID: "id",
			AuthURL: "https://idp.example/authorize", TokenURL: "https://idp.example/token",
			UserInfoURL: "https://idp.example/userinfo", Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, err := middleware.New(middleware.Config{
		Providers: []provider.Provider{newAdapter("corp", "Corp Sign-In"), newAdapter("plain", ""), newAdapter("renamed", "Ignored")},
		PublicURL: "http://127.0.0.1:8080", DevMode: true, Logger: discardLogger(),
		Pages: middleware.Pages{Display: map[string]middleware.ProviderDisplay{"renamed": {Name: "The App's Name"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/auth/login", nil)
	req.Header.Set("Accept", "text/html")
	a.Wrap(a.Handler()).ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	page := string(body)
	for _, want := range []string{"Corp Sign-In", "plain", "The App&#39;s Name"} {
		if !strings.Contains(page, want) {
			t.Errorf("chooser does not show %q", want)
		}
	}
	if strings.Contains(page, "Ignored") {
		t.Error("Pages.Display did not take precedence over the adapter's DisplayName")
	}
	if rec.Code != http.StatusOK {
		t.Fatalf("chooser: %d", rec.Code)
	}
}
