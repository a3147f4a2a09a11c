package app_test

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk/whisktest"
	"github.com/gatehouse-auth/gatehouse/examples/internal/exampletest"
	"github.com/gatehouse-auth/gatehouse/examples/nethttp/app"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestFakes runs the example with no credentials for each style: the fake
// of that style stands in, and a login, /api/me, a JWT and logout work.
func TestFakes(t *testing.T) {
	for _, style := range []string{"", "oauth2", "whisk", "startgg", "wazo"} {
		t.Run("style="+style, func(t *testing.T) {
			srv, err := app.Start("127.0.0.1:0", app.Config{Getenv: env(map[string]string{"GATEHOUSE_PROVIDER": style}), Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			u := srv.Upstreams.Upstreams[0]
			if !u.Fake {
				t.Fatal("no credentials, yet not a fake")
			}
			var user, pass string
			if len(srv.Upstreams.WazoUsers) > 0 {
				user, pass = srv.Upstreams.WazoUsers[0].Username, srv.Upstreams.WazoUsers[0].Password
			}
			c := exampletest.Browser(t)
			home := exampletest.Login(t, c, srv.URL, u.Provider.Name(), user, pass)
			if !strings.Contains(home, "<strong>"+u.Provider.Name()+"</strong>") {
				t.Errorf("home page does not name the provider:\n%s", home)
			}
			code, me := exampletest.Me(t, c, srv.URL)
			if code != http.StatusOK || me["provider"] != u.Provider.Name() || me["sub"] == "" {
				t.Fatalf("/api/me = %d %v", code, me)
			}
			jwt := exampletest.MintJWT(t, c, srv.URL, home)
			if code, _ := exampletest.Me(t, http.DefaultClient, srv.URL, "Authorization", "Bearer "+jwt); code != http.StatusOK {
				t.Errorf("/api/me with the JWT = %d", code)
			}
			exampletest.Logout(t, c, srv.URL, home)
		})
	}
}

// serveAt builds the app for a listener whose address is known first, so a
// test upstream can register the callback URL.
func serveAt(t *testing.T, register func(public string) map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	a, err := app.New(app.Config{PublicURL: public, Getenv: env(register(public)), Logger: quiet()})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(a)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(func() { ts.Close(); _ = a.Close() })
	if !strings.HasPrefix(ts.URL, public) {
		t.Fatalf("served at %s, built for %s", ts.URL, public)
	}
	return public
}

// TestEnvironment configures real adapters from environment variables,
// pointed at upstreams started by the test.
func TestEnvironment(t *testing.T) {
	t.Run("oauth2", func(t *testing.T) {
		var as *oauth2test.Server
		base := serveAt(t, func(public string) map[string]string {
			as = oauth2test.NewServer(oauth2test.Config{
				Clients: []oauth2test.Client{{ID: "env-client", Secret: "env-secret", RedirectURIs: []string{public + "/auth/myidp/callback"}}},
				Users:   []oauth2test.User{{Subject: "u-42", Name: "Env User"}},
			})
			t.Cleanup(as.Close)
			return map[string]string{
				"GATEHOUSE_PROVIDER": "oauth2", "OAUTH2_NAME": "myidp",
				"OAUTH2_CLIENT_ID": "env-client", "OAUTH2_CLIENT_SECRET": "env-secret",
				"OAUTH2_AUTH_URL": as.AuthorizeURL(), "OAUTH2_TOKEN_URL": as.TokenURL(),
				"OAUTH2_USERINFO_URL": as.UserInfoURL(), "OAUTH2_REVOCATION_URL": as.RevocationURL(),
				"OAUTH2_SCOPES": "openid,profile",
			}
		})
		c := exampletest.Browser(t)
		exampletest.Login(t, c, base, "myidp", "", "")
		if code, me := exampletest.Me(t, c, base); code != http.StatusOK || me["sub"] != "u-42" {
			t.Fatalf("/api/me = %d %v", code, me)
		}
		for _, r := range as.Requests("") {
			if strings.Contains(r.URL.String(), "env-secret") {
				t.Errorf("client secret in a URL: %s", r.URL.Path)
			}
		}
	})
	t.Run("whisk", func(t *testing.T) {
		base := serveAt(t, func(public string) map[string]string {
			ws := whisktest.NewServer(whisktest.Config{Clients: []whisktest.Client{{ID: "w-id", Secret: "w-secret",
				RedirectURIs: []string{public + "/auth/whisk/callback"}}}})
			t.Cleanup(ws.Close)
			return map[string]string{"GATEHOUSE_PROVIDER": "whisk", "WHISK_CLIENT_ID": "w-id", "WHISK_CLIENT_SECRET": "w-secret",
				"WHISK_AUTH_URL": ws.URL, "WHISK_API_URL": ws.URL}
		})
		c := exampletest.Browser(t)
		exampletest.Login(t, c, base, "whisk", "", "")
		if code, me := exampletest.Me(t, c, base); code != http.StatusOK || me["sub"] != whisktest.DefaultUser().ID {
			t.Fatalf("/api/me = %d %v", code, me)
		}
	})
	t.Run("wazo", func(t *testing.T) {
		base := serveAt(t, func(string) map[string]string {
			wz := wazotest.NewServer(wazotest.Config{Users: []wazotest.User{{Username: "carol", Password: "carol-pw"}}})
			t.Cleanup(wz.Close)
			return map[string]string{"GATEHOUSE_PROVIDER": "wazo", "WAZO_URL": wz.URL, "WAZO_CLIENT_ID": "env-app"}
		})
		c := exampletest.Browser(t)
		exampletest.Login(t, c, base, "wazo", "carol", "carol-pw")
		if code, me := exampletest.Me(t, c, base); code != http.StatusOK || me["provider"] != "wazo" {
			t.Fatalf("/api/me = %d %v", code, me)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"unknown provider":         {"GATEHOUSE_PROVIDER": "myspace"},
		"whisk without secret":     {"GATEHOUSE_PROVIDER": "whisk", "WHISK_CLIENT_ID": "id"},
		"oauth2 without token url": {"GATEHOUSE_PROVIDER": "oauth2", "OAUTH2_CLIENT_ID": "id", "OAUTH2_AUTH_URL": "https://idp.example/authorize"},
		"wazo over plain http":     {"GATEHOUSE_PROVIDER": "wazo", "WAZO_URL": "http://wazo.example/0.1"},
	} {
		t.Run(name, func(t *testing.T) {
			if a, err := app.New(app.Config{PublicURL: "https://app.example", Getenv: env(vars), Logger: quiet()}); err == nil {
				a.Close()
				t.Fatal("New succeeded")
			}
		})
	}
	if _, err := app.New(app.Config{PublicURL: "http://app.example", Getenv: env(nil), Logger: quiet()}); err == nil {
		t.Fatal("plain http on a public host accepted")
	}
}
