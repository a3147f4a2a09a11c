package e2e

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Issue 16 items 4, 5 and 10: Gatehouse's own pages, themed by an app
// (app name, provider names and icons, a template override), in a real
// browser: the chooser, Back to a completed callback, the sign-out
// notice, and a password form left open while the user signs in in
// another tab.

// brAcmeIcon is the themed app's provider icon: an inline SVG (a data:
// URL, allowed by the pages' img-src).
const brAcmeIcon = "data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22%20viewBox=%220%200%2020%2020%22%3E" +
	"%3Ccircle%20cx=%2210%22%20cy=%2210%22%20r=%229%22%20fill=%22%23ffd166%22/%3E%3Cpath%20d=%22M6%2014l4-8%204%208z%22%20fill=%22%23073b4c%22/%3E%3C/svg%3E"

// brTheme is the app's template override: its own colours and a footer.
// The built-in <style> element carries the nonce; the override only
// replaces its content.
var brTheme = fstest.MapFS{"theme.html": {Data: []byte(`
{{define "style"}}
:root{color-scheme:light;--fg:#14213d;--muted:#3d4a66;--accent:#6a2c91;--on-accent:#fff;--err:#a4161a;--ok-bg:#e9f5db;--ok-fg:#2d6a4f;--border:#d8cfe6}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;font:16px/1.5 Georgia,"Times New Roman",serif;color:var(--fg);background:linear-gradient(160deg,#f3e9ff,#fff7e6)}
main{max-width:25rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:18px;box-shadow:0 10px 30px rgba(60,20,90,.15)}
.app{margin:0;font:700 .85rem/1.2 system-ui,sans-serif;letter-spacing:.12em;text-transform:uppercase;color:var(--accent)}
h1{font-size:1.6rem;margin:.25rem 0 1.25rem}
p,li{color:var(--muted)}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=password]{width:100%;padding:.6rem .75rem;font:inherit;border:1px solid var(--border);border-radius:10px}
.btn,button{display:flex;align-items:center;justify-content:center;gap:.6rem;width:100%;margin:.75rem 0 0;padding:.75rem 1rem;font:600 1rem system-ui,sans-serif;text-decoration:none;color:var(--on-accent);background:var(--accent);border:0;border-radius:999px;cursor:pointer}
.btn img,button img{width:1.4rem;height:1.4rem}
.link{display:block;margin:1rem 0 0;text-align:center;color:var(--accent)}
.notice{padding:.6rem .9rem;border-radius:10px;background:var(--ok-bg);color:var(--ok-fg)}
.error{color:var(--err);font-weight:600}
hr{border:0;border-top:1px dashed var(--border);margin:1.25rem 0}
footer{margin-top:1.5rem;font-size:.8rem;text-align:center;color:var(--muted)}
{{end}}
{{define "foot"}}<footer>Acme Notes · signing in with Gatehouse</footer>
</main>
</body>
</html>
{{end}}`)}}

// brThemed is the themed app on a loopback listener.
type brThemed struct {
	URL        string
	User, Pass string // the Wazo account
	AS         *oauth2test.Server
	Wazo       *wazotest.Server
}

// brThemedApp starts the themed app: provider "acme" (a generic OAuth2
// server that approves at once) and "wazo" (a password form), DevMode on
// http://127.0.0.1, the home page behind Require with a sign-out button.
func brThemedApp(t *testing.T, logger *harness.LogCapture) *brThemed {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	app := &brThemed{URL: public, User: "alice", Pass: "browser-password-1"}
	app.AS = oauth2test.NewServer(oauth2test.Config{
		Clients:     []oauth2test.Client{{ID: "acme-notes", Secret: "acme-notes-secret-1234", RedirectURIs: []string{public + "/auth/acme/callback"}}},
		Users:       []oauth2test.User{{Subject: "robin", Name: "Robin Example", Email: "robin@example.test"}},
		RequirePKCE: true,
	})
	t.Cleanup(app.AS.Close)
	app.Wazo = wazotest.NewServer(wazotest.Config{Users: []wazotest.User{{Username: app.User, Password: app.Pass}}})
	t.Cleanup(app.Wazo.Close)
	acme, err := oauth2.New(oauth2.Config{
		Name: "acme", ClientID: "acme-notes", ClientSecret: "acme-notes-secret-1234",
		AuthURL: app.AS.AuthorizeURL(), TokenURL: app.AS.TokenURL(), UserInfoURL: app.AS.UserInfoURL(),
		RedirectURL: public + "/auth/acme/callback", Scopes: []string{"openid", "profile"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wz, err := wazo.New(wazo.Config{BaseURL: app.Wazo.URL, ClientID: "acme-notes"})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{
		Providers: []provider.Provider{acme, wz},
		PublicURL: public,
		DevMode:   true,
		AppName:   "Acme Notes",
		Pages: middleware.Pages{
			Display: map[string]middleware.ProviderDisplay{
				"acme": {Name: "Acme ID", Icon: brAcmeIcon},
				"wazo": {Name: "the phone system"},
			},
			Templates: brTheme,
		},
		UpstreamHosts: map[string][]string{"acme": {brHost(t, app.AS.URL)}, "wazo": {brHost(t, app.Wazo.URL)}},
		Logger:        logger.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	home := template.Must(template.New("home").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Notes</title></head>
<body><h1 id="hello">Hello, {{.Name}}</h1><p id="provider">{{.Provider}}</p>
<form method="post" action="/auth/logout"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button id="signout" type="submit">Sign out</button></form></body></html>`))
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("GET /{$}", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := middleware.IdentityFrom(r.Context())
		name := id.Name
		if name == "" {
			name = id.Subject
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
		_ = home.Execute(w, map[string]string{"Name": name, "Provider": id.Provider, "CSRF": auth.CSRFToken(r.Context())})
	})))
	srv := &http.Server{Handler: auth.Wrap(mux), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("themed app: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		_ = auth.Close()
		_ = auth.Sessions().Close()
	})
	return app
}

// brHost is the host:port of a URL.
func brHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// brText returns the text of the first element matching sel.
func brText(t *testing.T, ctx context.Context, step, sel string) string {
	t.Helper()
	var s string
	brRun(t, ctx, step, chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// brCallbacks records the URLs of the callback requests chromium sends.
type brCallbacks struct {
	mu   sync.Mutex
	urls []string
}

func (c *brCallbacks) listen(ctx context.Context, path string) {
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(e.Request.URL, path) {
			c.mu.Lock()
			c.urls = append(c.urls, e.Request.URL)
			c.mu.Unlock()
		}
	})
}

func (c *brCallbacks) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.urls) == 0 {
		return ""
	}
	return c.urls[len(c.urls)-1]
}

func TestBrowser_ThemedPages(t *testing.T) {
	harness.GoroutineBaseline(t, goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
	ctx := brBrowser(t)
	logs := harness.NewLogCapture()
	app := brThemedApp(t, logs)
	shots := brShotDir(t)
	base := app.URL
	cbs := &brCallbacks{}
	cbs.listen(ctx, "/auth/acme/callback?")
	brRun(t, ctx, "enable network events", network.Enable())

	// The protected home page sends the browser to the themed chooser.
	var title, html string
	brRun(t, ctx, "open the app",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`div.providers`, chromedp.ByQuery),
		chromedp.Title(&title),
		chromedp.OuterHTML("html", &html, chromedp.ByQuery),
	)
	if title != "Sign in to Acme Notes" {
		t.Errorf("chooser title %q", title)
	}
	for _, want := range []string{"Continue with Acme ID", "Sign in with the phone system", "<footer>Acme Notes · signing in with Gatehouse</footer>", `<p class="app">Acme Notes</p>`} {
		if !strings.Contains(html, want) {
			t.Errorf("themed chooser lacks %q", want)
		}
	}
	// The icon loaded (the CSP allowed it) and the override's CSS applied
	// (the built-in <style> kept its nonce).
	var iconOK bool
	var radius string
	brRun(t, ctx, "icon and theme",
		chromedp.Evaluate(`(function(){var i=document.querySelector('#provider-acme img');return !!i && i.complete && i.naturalWidth>0})()`, &iconOK),
		chromedp.Evaluate(`getComputedStyle(document.querySelector('#provider-acme a.btn')).borderTopLeftRadius`, &radius),
	)
	if !iconOK {
		t.Error("the provider icon did not load")
	}
	if radius != "999px" {
		t.Errorf("the theme's CSS did not apply: button radius %q", radius)
	}
	brRun(t, ctx, "screenshot themed chooser", brScreenshot(t, shots, "themed-chooser.png"))

	t.Run("login, then Back to the used callback: on to the app, not an error", func(t *testing.T) {
		brRun(t, ctx, "click Continue with Acme ID", chromedp.Click(`#provider-acme a.btn`, chromedp.ByQuery))
		if got := brText(t, ctx, "home", `#hello`); got != "Hello, Robin Example" {
			t.Fatalf("home %q", got)
		}
		cb := cbs.last()
		if cb == "" {
			t.Fatal("no callback request recorded")
		}
		tokenCalls := app.AS.Calls(oauth2test.EndpointToken)
		// The callback again, as Back or a reload sends it.
		var loc string
		brRun(t, ctx, "callback again",
			chromedp.Navigate(cb),
			chromedp.WaitVisible(`#hello`, chromedp.ByQuery),
			chromedp.Location(&loc),
		)
		if loc != base+"/" {
			t.Errorf("after the used callback the browser is at %s, want %s/", loc, base)
		}
		if n := app.AS.Calls(oauth2test.EndpointToken) - tokenCalls; n != 0 {
			t.Errorf("the used callback made %d token requests", n)
		}
	})

	t.Run("sign out: the next sign-in page says so, once", func(t *testing.T) {
		brRun(t, ctx, "click Sign out",
			chromedp.Click(`#signout`, chromedp.ByQuery),
			chromedp.WaitVisible(`div.providers`, chromedp.ByQuery),
		)
		if got := brText(t, ctx, "notice", `p.notice`); got != "You have signed out." {
			t.Errorf("notice %q", got)
		}
		brRun(t, ctx, "screenshot sign-out notice", brScreenshot(t, shots, "signed-out-notice.png"))
		var n int
		brRun(t, ctx, "reload",
			chromedp.Reload(),
			chromedp.WaitVisible(`div.providers`, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelectorAll('p.notice').length`, &n),
		)
		if n != 0 {
			t.Error("the sign-out notice showed twice")
		}
	})

	t.Run("password form left open while signing in in another tab", func(t *testing.T) {
		brRun(t, ctx, "open the password form",
			chromedp.Navigate(base+"/auth/wazo/login"),
			chromedp.WaitVisible(`#username-wazo`, chromedp.ByQuery),
		)
		// Another tab of the same browser signs in (and rotates the
		// session's CSRF token), then closes.
		tab2, cancel := chromedp.NewContext(ctx)
		brRun(t, tab2, "sign in in another tab",
			chromedp.Navigate(base+"/auth/acme/login"),
			chromedp.WaitVisible(`#hello`, chromedp.ByQuery),
		)
		cancel()
		before := app.Wazo.Calls(wazotest.EndpointToken)
		brRun(t, ctx, "send the old form",
			chromedp.SendKeys(`#username-wazo`, app.User, chromedp.ByQuery),
			chromedp.SendKeys(`#password-wazo`, app.Pass, chromedp.ByQuery),
			chromedp.Click(`#provider-wazo button[type="submit"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`p.error`, chromedp.ByQuery),
		)
		if got := brText(t, ctx, "form message", `p.error`); !strings.Contains(got, "This form was out of date") {
			t.Errorf("form message %q", got)
		}
		var user string
		brRun(t, ctx, "username kept", chromedp.Value(`#username-wazo`, &user, chromedp.ByQuery))
		if user != app.User {
			t.Errorf("username field %q, want it kept", user)
		}
		if n := app.Wazo.Calls(wazotest.EndpointToken) - before; n != 0 {
			t.Errorf("the out-of-date form reached the provider (%d token requests)", n)
		}
		brRun(t, ctx, "screenshot refreshed form", brScreenshot(t, shots, "password-form-refreshed.png"))
		brRun(t, ctx, "send again",
			chromedp.SendKeys(`#password-wazo`, app.Pass, chromedp.ByQuery),
			chromedp.Click(`#provider-wazo button[type="submit"]`, chromedp.ByQuery),
		)
		if got := brText(t, ctx, "home", `#provider`); got != "wazo" {
			t.Errorf("signed in with %q, want wazo", got)
		}
	})

	for _, r := range logs.Records() {
		if r.Level >= slog.LevelError {
			t.Errorf("app logged an error: %s", r.Message)
		}
	}
	// The password never reached a log line.
	for _, l := range logs.Lines() {
		if strings.Contains(l, app.Pass) {
			t.Error("the password is in the logs")
		}
	}
}
