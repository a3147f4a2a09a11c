package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	"github.com/gatehouse-auth/gatehouse/examples/demo/app"
)

// Issue 8 item 4: a real browser (Debian's chromium, driven over the
// DevTools protocol by chromedp) logs in to the demo through a redirect
// provider by clicking, through the Wazo form by typing, and through the
// Whisk implicit grant (token in the fragment, posted by the page's script),
// and logs out by clicking after each.

const (
	// brTimeout bounds the whole browser test, chromium start included.
	brTimeout = 90 * time.Second
	// brCookie is the demo's session cookie (DevMode: plain http, so no
	// __Host- prefix).
	brCookie = "gatehouse"
	// Selectors of the demo's pages.
	brHomeMarker  = `#token-status`
	brLoginMarker = `ul.providers`
	brIdentity    = `section[aria-labelledby="who"] dl`
	brLogout      = `form.logout button[type="submit"]`
)

// brFlags are the chromium switches issue 8 names, plus two that keep a
// container quiet: /dev/shm is often tiny there, and QUIC is never needed
// on loopback.
var brFlags = []string{
	"headless", "no-sandbox", "disable-gpu", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
	"disable-dev-shm-usage", "disable-quic",
}

// brBrowser starts chromium with a fresh profile in a temporary directory
// and returns a tab context bounded by brTimeout. Its Cleanup closes the
// browser and fails the test if any chromium process of this profile is
// still running afterwards.
func brBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	profile := t.TempDir() // removed after the browser is gone (cleanups run last-in first-out)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
	}
	for _, f := range brFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), brTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(f string, a ...any) {
		// chromedp reports CDP events it cannot decode here; they are
		// noise, not test failures, but keep them in the log.
		t.Logf("chromedp: "+f, a...)
	}))
	// Start the browser now, so that a missing library or a bad flag shows
	// up here rather than in the first step.
	if err := chromedp.Run(tab); err != nil {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	proc := chromedp.FromContext(tab).Browser.Process()
	t.Cleanup(func() {
		// Close the browser gracefully (Browser.close), then kill whatever
		// is left and wait for the process (the exec allocator waits).
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- chromedp.Cancel(tab) }()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Logf("chromium close: %v", err)
			}
		case <-closeCtx.Done():
			t.Errorf("chromium did not close within 10 s")
		}
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		brWaitGone(t, proc, profile)
	})
	return tab
}

// brWaitGone fails t unless the browser process has exited and no process
// whose command line names the profile directory (renderers, zygotes, the
// GPU and network services) remains.
func brWaitGone(t *testing.T, proc *os.Process, profile string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := brProfileProcesses(profile)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("chromium processes still running after close: %v", left)
			for _, pid := range left {
				if p, err := os.FindProcess(pid); err == nil {
					_ = p.Kill()
				}
			}
			return
		}
		time.Sleep(50 * time.Millisecond) // polling a foreign process's exit: nothing to wait on
	}
	// The exec allocator reaps the browser process; signal 0 to an
	// exited, reaped process fails.
	if proc != nil {
		if err := proc.Signal(syscall.Signal(0)); err == nil {
			t.Errorf("chromium (pid %d) is still running after close", proc.Pid)
		}
	}
}

// brProfileProcesses lists the pids whose command line mentions profile.
func brProfileProcesses(profile string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(cmd, []byte(profile)) {
			// A zombie has an empty cmdline, so a match is a live process.
			pids = append(pids, pid)
		}
	}
	return pids
}

// brScreenshot saves a full-page PNG into dir and logs its path.
func brScreenshot(t *testing.T, dir, name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var png []byte
		if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
			return fmt.Errorf("screenshot %s: %w", name, err)
		}
		if len(png) < 8 || !bytes.Equal(png[:8], []byte("\x89PNG\r\n\x1a\n")) {
			return fmt.Errorf("screenshot %s: not a PNG (%d bytes)", name, len(png))
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o600); err != nil {
			return err
		}
		t.Logf("screenshot of the %s: %s (%d bytes)", strings.TrimSuffix(name, ".png"), p, len(png))
		return nil
	})
}

// brShotDir is where screenshots go: $GATEHOUSE_SCREENSHOTS when set (kept
// after the test, for people to look at), else a temporary directory.
func brShotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// brRun runs actions and fails the test with the step's name on error.
func brRun(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var loc string
		_ = chromedp.Run(ctx, chromedp.Location(&loc))
		t.Fatalf("%s: %v (browser at %s)", step, err, loc)
	}
}

// brHome waits for the home page and returns the location and the text of
// the identity card.
func brHome(t *testing.T, ctx context.Context, step string) (loc, identity string) {
	t.Helper()
	brRun(t, ctx, step,
		chromedp.WaitVisible(brHomeMarker, chromedp.ByQuery),
		chromedp.Location(&loc),
		chromedp.Text(brIdentity, &identity, chromedp.ByQuery),
	)
	return loc, identity
}

// brSessionCookie returns the browser's session cookie for base, or nil.
func brSessionCookie(t *testing.T, ctx context.Context, base string) *network.Cookie {
	t.Helper()
	var cookies []*network.Cookie
	brRun(t, ctx, "read cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{base + "/"}).Do(ctx)
		return err
	}))
	for _, c := range cookies {
		if c.Name == brCookie {
			return c
		}
	}
	return nil
}

// brCheckCookie asserts the session cookie's flags and that page scripts
// cannot read it.
func brCheckCookie(t *testing.T, ctx context.Context, base, step string) string {
	t.Helper()
	c := brSessionCookie(t, ctx, base)
	if c == nil {
		t.Fatalf("%s: no %q cookie in the browser", step, brCookie)
	}
	if !c.HTTPOnly {
		t.Errorf("%s: session cookie is not HttpOnly", step)
	}
	if c.SameSite != network.CookieSameSiteLax {
		t.Errorf("%s: session cookie SameSite = %q, want Lax", step, c.SameSite)
	}
	if c.Path != "/" {
		t.Errorf("%s: session cookie Path = %q, want /", step, c.Path)
	}
	if c.Secure {
		t.Errorf("%s: session cookie is Secure on plain-http loopback (dev mode); the browser would never send it", step)
	}
	if len(c.Value) < 20 {
		t.Errorf("%s: session cookie value %d bytes, want an unguessable token", step, len(c.Value))
	}
	var jsCookies string
	brRun(t, ctx, step+": document.cookie", chromedp.Evaluate(`document.cookie`, &jsCookies))
	if strings.Contains(jsCookies, brCookie+"=") || strings.Contains(jsCookies, c.Value) {
		t.Errorf("%s: document.cookie exposes the session cookie: %q", step, jsCookies)
	}
	return c.Value
}

// brLogoutByClick clicks "Sign out" and waits for the login page, then
// checks that the old session no longer opens the home page.
func brLogoutByClick(t *testing.T, ctx context.Context, base, step, oldCookie string) {
	t.Helper()
	brRun(t, ctx, step+": click Sign out",
		chromedp.Click(brLogout, chromedp.ByQuery),
		chromedp.WaitVisible(brLoginMarker, chromedp.ByQuery),
	)
	var loc string
	brRun(t, ctx, step+": location", chromedp.Location(&loc))
	if !strings.HasPrefix(loc, base+"/auth/login") {
		t.Errorf("%s: after logout the browser is at %s, want the login page", step, loc)
	}
	if c := brSessionCookie(t, ctx, base); c != nil && c.Value == oldCookie {
		t.Errorf("%s: the session cookie survived logout unchanged", step)
	}
	// The protected page sends a logged-out browser to the login page.
	brRun(t, ctx, step+": home after logout",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(brLoginMarker, chromedp.ByQuery),
	)
}

// brNetLog keeps what chromium sent and received, as the DevTools protocol
// reports it: request URLs (fragment included) and headers, redirect and
// response headers (Location and Set-Cookie included), and the pages'
// final HTML.
type brNetLog struct {
	mu      sync.Mutex
	entries []brNetEntry
}

type brNetEntry struct{ where, text string }

func (n *brNetLog) add(where, text string) {
	if text == "" {
		return
	}
	n.mu.Lock()
	n.entries = append(n.entries, brNetEntry{where, text})
	n.mu.Unlock()
}

func (n *brNetLog) all() []brNetEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]brNetEntry(nil), n.entries...)
}

func brHeaders(h network.Headers) string {
	var b strings.Builder
	for k, v := range h {
		fmt.Fprintf(&b, "%s: %v\n", k, v)
	}
	return b.String()
}

// brListen records chromium's network traffic into n.
func brListen(ctx context.Context, n *brNetLog) {
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			n.add(e.Request.Method+" request URL", e.Request.URL+e.Request.URLFragment)
			n.add(e.Request.Method+" "+e.Request.URL+" request headers", brHeaders(e.Request.Headers))
			if r := e.RedirectResponse; r != nil {
				n.add(r.URL+" redirect headers", brHeaders(r.Headers))
			}
		case *network.EventRequestWillBeSentExtraInfo:
			n.add("request headers (raw)", brHeaders(e.Headers))
		case *network.EventResponseReceived:
			n.add(e.Response.URL+" response headers", brHeaders(e.Response.Headers))
		case *network.EventResponseReceivedExtraInfo:
			n.add("response headers (raw)", brHeaders(e.Headers)+e.HeadersText)
		}
	})
}

// brPageHTML records the current page's HTML and URL.
func brPageHTML(n *brNetLog, step string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var html, loc string
		if err := chromedp.Run(ctx, chromedp.Location(&loc), chromedp.OuterHTML("html", &html, chromedp.ByQuery)); err != nil {
			return err
		}
		n.add(step+" page URL", loc)
		n.add(step+" page HTML", html)
		return nil
	})
}

// brCallUpstream clicks "Call the API" on the home page and returns what
// the page's script shows.
func brCallUpstream(t *testing.T, ctx context.Context, step string) string {
	t.Helper()
	var result string
	brRun(t, ctx, step+": call the upstream API",
		chromedp.Click(`#call-upstream`, chromedp.ByQuery),
		chromedp.WaitVisible(`#upstream-result`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('upstream-result').textContent.indexOf('HTTP ') >= 0`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text(`#upstream-result`, &result, chromedp.ByQuery),
	)
	if !strings.Contains(result, "HTTP 200") {
		t.Errorf("%s: upstream call result %q, want HTTP 200", step, result)
	}
	return result
}

// brPlantDemoSecrets plants what the demo's fakes recorded of the upstream
// calls: client secrets, PKCE verifiers, refresh tokens and the access
// tokens the app presented (never the Wazo password: the demo shows its
// demo accounts on the login page on purpose).
func brPlantDemoSecrets(srv *app.Server, leaks *harness.LeakScanner) map[string]int {
	f := srv.Upstreams.Fakes
	n := map[string]int{}
	seen := map[string]bool{}
	plant := func(kind, v string) {
		if len(v) >= harness.MinSecretLen && !seen[v] {
			seen[v] = true
			n[kind]++
			leaks.Plant(fmt.Sprintf("%s #%d", kind, n[kind]), v)
		}
	}
	for _, c := range f.OAuth2.Config().Clients {
		plant("client secret", c.Secret)
	}
	for _, c := range f.Whisk.Config().Clients {
		plant("client secret", c.Secret)
	}
	plant("client secret", f.StartGG.Config().ClientSecret)
	bearer := func(h http.Header) string {
		if scheme, tok, ok := strings.Cut(h.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
			return tok
		}
		return ""
	}
	for _, s := range []*oauth2test.Server{f.OAuth2, f.StartGG.Server} {
		for _, r := range s.Requests("") {
			plant("PKCE verifier", r.Params.Get("code_verifier"))
			plant("refresh token", r.Params.Get("refresh_token"))
			plant("access token", bearer(r.Header))
		}
	}
	for _, r := range f.Wazo.Requests("") {
		plant("access token", r.Header.Get("X-Auth-Token"))
	}
	return n
}

func TestBrowser_DemoLogins(t *testing.T) {
	// session.Manager keeps scs memstore's idle sweeper running after
	// Close (see session's commit 96ebc6d: stopping it races in scs).
	harness.GoroutineBaseline(t, goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
	// The browser first: without chromium the test skips (fails under
	// CI=true) before anything else starts.
	ctx := brBrowser(t)
	logs := harness.NewLogCapture()
	srv, err := app.Start("127.0.0.1:0", app.Config{Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("demo Close: %v", err)
		}
	})
	netlog := &brNetLog{}
	brListen(ctx, netlog)
	brRun(t, ctx, "enable network events", network.Enable())
	shots := brShotDir(t)
	base := srv.URL
	started := time.Now()

	// The protected home page sends an anonymous browser to the login
	// page, which lists every provider.
	var title string
	brRun(t, ctx, "open the demo",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(brLoginMarker, chromedp.ByQuery),
		chromedp.Title(&title),
	)
	if !strings.Contains(title, "Sign in") {
		t.Errorf("login page title %q", title)
	}
	for _, p := range []string{app.OAuth2, app.Whisk, app.WhiskImplicit, app.StartGG, app.Wazo} {
		var n int
		brRun(t, ctx, "provider "+p, chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll('#provider-%s').length`, p), &n))
		if n != 1 {
			t.Errorf("login page: provider %s listed %d times", p, n)
		}
	}
	brRun(t, ctx, "screenshot login", brScreenshot(t, shots, "login-page.png"))

	t.Run("redirect provider by clicking (generic OAuth2)", func(t *testing.T) {
		brRun(t, ctx, "click Continue with Generic OAuth2",
			chromedp.Click(`#provider-oauth2 a.btn`, chromedp.ByQuery))
		loc, id := brHome(t, ctx, "oauth2 home")
		if loc != base+"/" {
			t.Errorf("after login the browser is at %s, want %s/", loc, base)
		}
		for _, want := range []string{"oauth2", "user-1", "Robin Example", "robin@example.test"} {
			if !strings.Contains(id, want) {
				t.Errorf("home page identity %q lacks %q", id, want)
			}
		}
		var h1 string
		brRun(t, ctx, "greeting", chromedp.Text(`h1`, &h1, chromedp.ByQuery))
		if h1 != "Hello, Robin Example" {
			t.Errorf("greeting %q", h1)
		}
		brRun(t, ctx, "screenshot home", brScreenshot(t, shots, "home-page.png"))
		cookie := brCheckCookie(t, ctx, base, "oauth2")

		// The page's script calls the upstream API through the app.
		if result := brCallUpstream(t, ctx, "oauth2"); !strings.Contains(result, "user-1") {
			t.Errorf("upstream call result %q, want the userinfo of user-1", result)
		}
		brRun(t, ctx, "page HTML", brPageHTML(netlog, "oauth2 home"))
		if got := srv.Upstreams.Fakes.OAuth2.Calls("userinfo"); got < 2 { // login identity + the API call
			t.Errorf("fake userinfo calls = %d, want ≥ 2", got)
		}
		brLogoutByClick(t, ctx, base, "oauth2 logout", cookie)
	})

	t.Run("redirect provider by clicking (start.gg)", func(t *testing.T) {
		brRun(t, ctx, "click Continue with start.gg",
			chromedp.Click(`#provider-startgg a.btn`, chromedp.ByQuery))
		_, id := brHome(t, ctx, "startgg home")
		for _, want := range []string{"startgg", "123456"} {
			if !strings.Contains(id, want) {
				t.Errorf("home page identity %q lacks %q", id, want)
			}
		}
		brCallUpstream(t, ctx, "startgg")
		brRun(t, ctx, "page HTML", brPageHTML(netlog, "startgg home"))
		cookie := brCheckCookie(t, ctx, base, "startgg")
		brLogoutByClick(t, ctx, base, "startgg logout", cookie)
	})

	t.Run("Wazo form by typing", func(t *testing.T) {
		if len(srv.WazoUsers) == 0 {
			t.Fatal("the demo has no Wazo accounts")
		}
		acct := srv.WazoUsers[0]
		user, ok := srv.Upstreams.Fakes.Wazo.User(acct.Username)
		if !ok {
			t.Fatalf("fake Wazo has no user %q", acct.Username)
		}
		before := srv.Upstreams.Fakes.Wazo.Calls("POST /token")
		brRun(t, ctx, "type credentials and submit",
			chromedp.WaitVisible(`#wazo-username`, chromedp.ByQuery),
			chromedp.SendKeys(`#wazo-username`, acct.Username, chromedp.ByQuery),
			chromedp.SendKeys(`#wazo-password`, acct.Password, chromedp.ByQuery),
			chromedp.Click(`#provider-wazo form.login-form button[type="submit"]`, chromedp.ByQuery),
		)
		loc, id := brHome(t, ctx, "wazo home")
		if strings.Contains(loc, acct.Password) || strings.Contains(loc, "password") {
			t.Errorf("the password travelled in the URL: %s", loc)
		}
		for _, want := range []string{"wazo", user.UUID} {
			if !strings.Contains(id, want) {
				t.Errorf("home page identity %q lacks %q", id, want)
			}
		}
		if got := srv.Upstreams.Fakes.Wazo.Calls("POST /token") - before; got != 1 {
			t.Errorf("fake wazo-auth got %d token requests for one typed login, want 1", got)
		}
		brCallUpstream(t, ctx, "wazo")
		brRun(t, ctx, "page HTML", brPageHTML(netlog, "wazo home"))
		cookie := brCheckCookie(t, ctx, base, "wazo")
		brLogoutByClick(t, ctx, base, "wazo logout", cookie)
	})

	t.Run("Whisk implicit grant (fragment)", func(t *testing.T) {
		brRun(t, ctx, "click Continue with Whisk (implicit grant)",
			chromedp.Click(`#provider-whisk-implicit a.btn`, chromedp.ByQuery))
		loc, id := brHome(t, ctx, "whisk-implicit home")
		if strings.Contains(loc, "#") || strings.Contains(loc, "access_token") {
			t.Errorf("the fragment survived into the home page URL: %s", loc)
		}
		if !strings.Contains(id, "whisk-implicit") {
			t.Errorf("home page identity %q lacks the provider whisk-implicit", id)
		}
		var refreshable string
		brRun(t, ctx, "refreshable", chromedp.Text(`#token-status`, &refreshable, chromedp.ByQuery))
		if !strings.Contains(refreshable, "no: this login ends when the token expires") {
			t.Errorf("implicit login claims to be refreshable: %q", refreshable)
		}
		// The browser's history holds the callback URL without its
		// fragment: the page's script replaced it before posting.
		var hist []*page.NavigationEntry
		brRun(t, ctx, "history", chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			_, hist, err = page.GetNavigationHistory().Do(ctx)
			return err
		}))
		for _, h := range hist {
			if strings.Contains(h.URL, "access_token") || strings.Contains(h.URL, "#") {
				t.Errorf("browser history keeps the implicit fragment: %s", h.URL)
			}
		}
		if len(hist) == 0 {
			t.Error("empty navigation history")
		}
		// The login went through the implicit grant: the fake was asked
		// for response_type=token, and the token reached the app only
		// through the page's POST (the fragment is never sent to a server).
		var implicit int
		for _, r := range srv.Upstreams.Fakes.Whisk.Requests(oauth2test.EndpointAuthorize) {
			if r.Params.Get("response_type") == "token" {
				implicit++
			}
		}
		if implicit != 1 {
			t.Errorf("fake Whisk saw %d implicit authorize requests, want 1", implicit)
		}
		brCallUpstream(t, ctx, "whisk-implicit")
		brRun(t, ctx, "page HTML", brPageHTML(netlog, "whisk-implicit home"))
		cookie := brCheckCookie(t, ctx, base, "whisk-implicit")
		brLogoutByClick(t, ctx, base, "whisk-implicit logout", cookie)
	})

	t.Run("OpenID Connect: Deny on the consent page, Try again, Allow, then Back after the login", func(t *testing.T) {
		brRun(t, ctx, "click Continue with OpenID Connect",
			chromedp.Click(`#provider-oidc a.btn`, chromedp.ByQuery),
			chromedp.WaitVisible(`#deny`, chromedp.ByQuery),
			chromedp.Click(`#deny`, chromedp.ByQuery),
			chromedp.WaitVisible(`main h1`, chromedp.ByQuery),
		)
		var h1, text, html string
		brRun(t, ctx, "deny page",
			chromedp.Text(`main h1`, &h1, chromedp.ByQuery),
			chromedp.Text(`main`, &text, chromedp.ByQuery),
			chromedp.OuterHTML(`html`, &html, chromedp.ByQuery),
		)
		if h1 != "Sign-in cancelled" {
			t.Errorf("Deny page title %q", h1)
		}
		for _, jargon := range []string{"access_denied", "OAuth", "error_description", "state"} {
			if strings.Contains(text, jargon) {
				t.Errorf("the Deny page shows %q to the user: %q", jargon, text)
			}
		}
		for _, want := range []string{`href="/auth/oidc/login?return_to=%2F"`, `href="/auth/login?return_to=%2F"`} {
			if !strings.Contains(html, want) {
				t.Errorf("the Deny page lacks the link %s", want)
			}
		}
		brRun(t, ctx, "screenshot Deny page", brScreenshot(t, shots, "deny-page.png"))
		brRun(t, ctx, "Try again, then Allow",
			chromedp.Click(`main a.btn`, chromedp.ByQuery),
			chromedp.WaitVisible(`#allow`, chromedp.ByQuery),
			chromedp.Click(`#allow`, chromedp.ByQuery),
		)
		_, id := brHome(t, ctx, "oidc home")
		if !strings.Contains(id, "grace") {
			t.Errorf("home page identity %q lacks grace", id)
		}
		// Back lands on the consent page of the completed login; Allow
		// there again sends a callback whose state was used: the signed-in
		// browser goes on to the app instead of an error page.
		tokens := srv.OP.Calls(oidctest.EndpointToken)
		brRun(t, ctx, "Back to the consent page, Allow again",
			chromedp.NavigateBack(),
			chromedp.WaitVisible(`#allow`, chromedp.ByQuery),
			chromedp.Click(`#allow`, chromedp.ByQuery),
		)
		loc, _ := brHome(t, ctx, "oidc home after Back")
		if loc != base+"/" {
			t.Errorf("after Back and Allow the browser is at %s, want %s/", loc, base)
		}
		if n := srv.OP.Calls(oidctest.EndpointToken) - tokens; n != 0 {
			t.Errorf("the used callback made %d token requests", n)
		}
		cookie := brCheckCookie(t, ctx, base, "oidc")
		brLogoutByClick(t, ctx, base, "oidc logout", cookie)
	})

	// Nothing chromium sent or received, no page it showed and no log
	// line carries a client secret, a PKCE verifier or an upstream token.
	leaks := harness.NewLeakScanner()
	planted := brPlantDemoSecrets(srv, leaks)
	for kind, least := range map[string]int{"client secret": 1, "PKCE verifier": 2, "access token": 3} {
		if planted[kind] < least {
			t.Errorf("browser leak scan: %d %s planted, want ≥ %d", planted[kind], kind, least)
		}
	}
	entries := netlog.all()
	if len(entries) < 50 {
		t.Errorf("browser leak scan: only %d network entries recorded", len(entries))
	}
	sawSetCookie := false
	for _, e := range entries {
		leaks.ScanString(e.where, e.text)
		low := strings.ToLower(e.text)
		sawSetCookie = sawSetCookie || (strings.Contains(low, "set-cookie: "+brCookie+"=") && strings.Contains(low, "httponly"))
	}
	if !sawSetCookie {
		t.Error("browser leak scan: no Set-Cookie of the session among the recorded headers; the recording misses raw headers")
	}
	leaks.ScanLogs(logs)
	leaks.AssertNone(t)
	t.Logf("browser leak scan: %d network entries and %d log lines against %v", len(entries), len(logs.Lines()), planted)

	// Every login and logout above was recorded by the app's logs; none
	// of them carries an error.
	for _, r := range logs.Records() {
		if r.Level >= slog.LevelError {
			t.Errorf("app logged an error: %s", r.Message)
		}
	}
	t.Logf("browser flows took %v", time.Since(started).Round(time.Millisecond))
}
