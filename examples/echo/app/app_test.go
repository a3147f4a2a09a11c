package app_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/examples/echo/app"
	"github.com/gatehouse-auth/gatehouse/examples/internal/exampletest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestFakes runs the Echo example against the fake of each style: login,
// /api/me, a JWT, logout.
func TestFakes(t *testing.T) {
	for _, style := range []string{"oauth2", "whisk", "startgg", "wazo"} {
		t.Run(style, func(t *testing.T) {
			srv, err := app.Start("127.0.0.1:0", app.Config{Getenv: env(map[string]string{"GATEHOUSE_PROVIDER": style}),
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			name := srv.Upstreams.Upstreams[0].Provider.Name()
			var user, pass string
			if len(srv.Upstreams.WazoUsers) > 0 {
				user, pass = srv.Upstreams.WazoUsers[0].Username, srv.Upstreams.WazoUsers[0].Password
			}
			c := exampletest.Browser(t)
			home := exampletest.Login(t, c, srv.URL, name, user, pass)
			if !strings.Contains(home, "served by Echo") {
				t.Errorf("home page:\n%s", home)
			}
			code, me := exampletest.Me(t, c, srv.URL)
			if code != http.StatusOK || me["provider"] != name {
				t.Fatalf("/api/me = %d %v", code, me)
			}
			jwt := exampletest.MintJWT(t, c, srv.URL, home)
			if code, _ := exampletest.Me(t, http.DefaultClient, srv.URL, "Authorization", "Bearer "+jwt); code != http.StatusOK {
				t.Errorf("/api/me with the JWT = %d", code)
			}
			exampletest.Logout(t, c, srv.URL, home)
			if code, _ := exampletest.Me(t, http.DefaultClient, srv.URL, "Authorization", "Bearer "+jwt); code != http.StatusUnauthorized {
				t.Errorf("/api/me with the JWT after logout = %d, want 401", code)
			}
		})
	}
}

func TestAnonymousAPIClientGets401(t *testing.T) {
	srv, err := app.Start("127.0.0.1:0", app.Config{Getenv: env(nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, _ := exampletest.Get(t, http.DefaultClient, srv.URL+"/api/me", "Accept", "application/json")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous /api/me = %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
