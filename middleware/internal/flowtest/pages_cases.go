package flowtest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/middleware"
)

// notContains fails when sub is in s.
func notContains(t *testing.T, s, sub string) {
	t.Helper()
	if strings.Contains(s, sub) {
		t.Fatalf("%q found in %.600s", sub, s)
	}
}

// follow GETs the Location of res with b.
func follow(t *testing.T, b *browser, res *response) *response {
	t.Helper()
	loc := res.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location (status %d)", res.StatusCode)
	}
	return b.get(loc)
}

// themed is a Config with the app's name, display names and icons,
// French texts for a few strings and a template override that uses the
// page's CSP nonce.
func themed(c *middleware.Config) {
	c.AppName = "Example App"
	texts := middleware.DefaultTexts()
	texts.Lang = "fr"
	texts.SignInTo = "Connexion à {app}"
	texts.ContinueWith = "Continuer avec {provider}"
	texts.NoticeSignedOut = "Vous êtes déconnecté."
	texts.Errors["access_denied"] = middleware.ErrorText{Title: "Connexion annulée", Message: "La connexion chez {provider} a été annulée."}
	c.Pages = middleware.Pages{
		Display: map[string]middleware.ProviderDisplay{
			"alpha": {Name: "Alpha Corp", Icon: "data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22/%3E"},
			"beta":  {Name: "Beta", Icon: "https://cdn.beta.example/logo.png"},
			"wazo":  {Name: "Wazo PBX", Icon: "/static/wazo.svg"},
		},
		Texts: texts,
		Templates: fstest.MapFS{"theme.html": {Data: []byte(
			`{{define "style"}}body{background:#102030}{{end}}` +
				`{{define "notice"}}{{if .Notice}}<div class="app-notice" role="status">{{.Notice}}</div>{{end}}{{end}}` +
				`{{define "foot"}}<link rel="stylesheet" nonce="{{.Nonce}}" href="/static/app.css"></main></body></html>{{end}}`)}},
	}
}

func pagesCases() []testCase {
	return []testCase{
		{name: "pages: themed chooser (app name, display names, icons, translated texts, override with the CSP nonce)", opts: options{mutate: themed}, run: func(t *testing.T, e *env) {
			b := e.browser()
			res := b.get("/auth/login?return_to=/x")
			status(t, res, http.StatusOK)
			htmlHeaders(t, res)
			for _, s := range []string{`<html lang="fr">`, "<h1>Connexion à Example App</h1>", "Continuer avec Alpha Corp", "Continuer avec Beta",
				`src="data:image/svg&#43;xml,%3Csvg`, `src="https://cdn.beta.example/logo.png"`, `src="/static/wazo.svg"`,
				"body{background:#102030}", `id="provider-alpha"`, `href="/auth/alpha/login?return_to=%2Fx"`, "Sign in with Wazo PBX"} {
				contains(t, res.body, s)
			}
			csp := res.Header.Get("Content-Security-Policy")
			contains(t, csp, "img-src 'self' data: https://cdn.beta.example;")
			i := strings.Index(csp, "'nonce-")
			if i < 0 {
				t.Fatalf("CSP without a nonce: %s", csp)
			}
			nonce := csp[i+len("'nonce-"):]
			nonce = nonce[:strings.IndexByte(nonce, '\'')]
			contains(t, res.body, `<link rel="stylesheet" nonce="`+nonce+`" href="/static/app.css">`)
			contains(t, res.body, `<style nonce="`+nonce+`">`)
			if b2 := e.browser().get("/auth/login"); strings.Contains(b2.body, nonce) {
				t.Fatal("the nonce is the same on two responses")
			}
			// The translated error text and the display name on the Deny page.
			au := e.startLogin(b, "alpha", "return_to=/x")
			res = b.get("/auth/alpha/callback?error=access_denied&state=" + url.QueryEscape(au.Query().Get("state")))
			status(t, res, http.StatusForbidden)
			contains(t, res.body, "La connexion chez Alpha Corp a été annulée.")
			// The sign-out notice in French, in the app's own notice template.
			e.login(b, "alpha", "")
			status(t, b.postForm("/auth/logout", url.Values{}, "Origin", publicURL), http.StatusSeeOther)
			contains(t, follow(t, b, b.get(PathPrivate)).body, `<div class="app-notice" role="status">Vous êtes déconnecté.</div>`)
		}},
		{name: "pages: Deny keeps return_to: Try again and the other providers; the JSON keeps the provider's code", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "return_to=%2Fdeep%3Fa%3D1")
			res := b.get("/auth/alpha/callback?error=access_denied&error_description=User+said+no&state=" + url.QueryEscape(au.Query().Get("state")))
			status(t, res, http.StatusForbidden)
			contains(t, res.body, `href="/auth/alpha/login?return_to=%2Fdeep%3Fa%3D1"`)
			contains(t, res.body, `href="/auth/login?return_to=%2Fdeep%3Fa%3D1"`)
			contains(t, res.body, "Choose another way to sign in")
			notContains(t, res.body, "User said no")
			notContains(t, res.body, "access_denied")
			contains(t, e.logs.String(), "User said no")
			au = e.startLogin(b, "alpha", "")
			res = e.api().get("/auth/alpha/callback?error=access_denied&error_description=User+said+no&state=" + url.QueryEscape(au.Query().Get("state")))
			status(t, res, http.StatusBadRequest) // another browser: no such attempt
			res = b.get("/auth/alpha/callback?error=access_denied&error_description=User+said+no&state="+url.QueryEscape(au.Query().Get("state")), "Accept", "application/json")
			status(t, res, http.StatusForbidden)
			m := jsonBody(t, res)
			if m["error"] != "provider_error" || !strings.Contains(m["error_description"].(string), "access_denied") || !strings.Contains(m["error_description"].(string), "User said no") {
				t.Fatalf("JSON %s", res.body)
			}
		}},
		{name: "pages: a signed-in browser given a callback it never started goes to the default path; nothing is exchanged", run: func(t *testing.T, e *env) {
			b, other := e.browser(), e.browser()
			e.login(b, "alpha", "/mine")
			au := e.startLogin(other, "alpha", "return_to=%2Ftheirs")
			code, state := e.authorize("alpha", au)
			tokens := e.alpha.Calls(oauth2test.EndpointToken)
			res := b.get("/auth/alpha/callback?code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(state))
			status(t, res, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != "/" {
				t.Fatalf("Location %q, want the default return path", loc)
			}
			calls(t, e.alpha, oauth2test.EndpointToken, tokens)
			contains(t, b.get(PathPrivate).body, "hello alpha-user")
			// The other browser's attempt is untouched.
			status(t, other.get("/auth/alpha/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state)), http.StatusSeeOther)
		}},
		{name: "pages: sign-out notice once on the next sign-in page; Require shows it instead of going straight to a provider", run: func(t *testing.T, e *env) {
			b := e.browser()
			e.login(b, "alpha", "")
			res := b.postForm("/auth/logout", url.Values{}, "Origin", publicURL)
			status(t, res, http.StatusSeeOther)
			res = b.get(PathPrivate)
			status(t, res, http.StatusFound)
			if loc := res.Header.Get("Location"); loc != "/auth/login?return_to=%2Fprivate" {
				t.Fatalf("Location %q", loc)
			}
			page := follow(t, b, res)
			contains(t, page.body, `<p class="notice" role="status">You have signed out.</p>`)
			notContains(t, b.get("/auth/login").body, "signed out") // once
			// A notice is never text from the request.
			res = b.get("/auth/login?notice=%3Cb%3Ehacked%3C%2Fb%3E")
			notContains(t, res.body, "hacked")
			notContains(t, res.body, `class="notice"`)
			// A notice waits ten minutes at most.
			e.login(b, "alpha", "")
			status(t, b.postForm("/auth/logout", url.Values{}, "Origin", publicURL), http.StatusSeeOther)
			e.clk.Advance(11 * time.Minute)
			notContains(t, b.get("/auth/login").body, "signed out")
			// Only browsers leave a notice.
			a := e.api()
			e.login(a, "alpha", "")
			status(t, a.postForm("/auth/logout", url.Values{}, "Origin", publicURL), http.StatusNoContent)
			if a.cookie() != "" {
				t.Fatal("a JSON logout left a session behind")
			}
		}},
		{name: "pages: expired session: Require adds the notice flag, the chooser says so", run: func(t *testing.T, e *env) {
			b := e.browser()
			e.login(b, "alpha", "")
			status(t, b.get(PathPrivate), http.StatusOK)
			if err := e.store.Delete(b.cookie()); err != nil { // the store forgot it: expired
				t.Fatal(err)
			}
			res := b.get(PathPrivate)
			status(t, res, http.StatusFound)
			if loc := res.Header.Get("Location"); loc != "/auth/login?return_to=%2Fprivate&notice=session_expired" {
				t.Fatalf("Location %q", loc)
			}
			contains(t, follow(t, b, res).body, "Your session has expired. Please sign in again.")
			// A browser that never had a session gets no notice.
			res = e.browser().get(PathPrivate)
			if loc := res.Header.Get("Location"); strings.Contains(loc, "notice") {
				t.Fatalf("Location %q", loc)
			}
		}},
		{name: "pages: the provider ended the login (invalid_grant): notice on the sign-in page", run: func(t *testing.T, e *env) {
			b := e.browser()
			e.login(b, "alpha", "")
			e.alpha.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{OAuthError: "invalid_grant"})
			e.clk.Advance(2 * time.Hour)
			res := b.get(PathPrivate)
			status(t, res, http.StatusFound)
			contains(t, res.Header.Get("Location"), "notice=reauth_required")
			contains(t, follow(t, b, res).body, "Your sign-in has ended. Please sign in again.")
		}},
		{name: "pages: password form open during a sign-in in another tab: shown again with a fresh token; cross-site posts still fail", run: func(t *testing.T, e *env) {
			b := e.browser()
			form := b.get("/auth/wazo/login?return_to=/inbox")
			status(t, form, http.StatusOK)
			old := csrfFrom(t, form.body)
			e.login(b, "alpha", "") // another tab: the CSRF token rotates
			e.secret("correct-horse-battery", "password")
			post := url.Values{"csrf_token": {old}, "username": {"alice"}, "password": {"correct-horse-battery"}, "return_to": {"/inbox"}}
			for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "same-site"}, nil} {
				res := b.postForm("/auth/wazo/login", post, hdr...)
				status(t, res, http.StatusForbidden)
			}
			if n := e.wz.Calls(wazotest.EndpointToken); n != 0 {
				t.Fatalf("wazo token calls %d", n)
			}
			for _, hdr := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Origin", publicURL}} {
				res := b.postForm("/auth/wazo/login", post, hdr...)
				status(t, res, http.StatusConflict)
				htmlHeaders(t, res)
				contains(t, res.body, "This form was out of date")
				contains(t, res.body, `value="alice"`)
				contains(t, res.body, `name="return_to" value="/inbox"`)
				notContains(t, res.body, "correct-horse-battery")
				if fresh := csrfFrom(t, res.body); fresh == old || fresh == "" {
					t.Fatal("the form was not given the session's current token")
				}
			}
			if n := e.wz.Calls(wazotest.EndpointToken); n != 0 {
				t.Fatalf("wazo token calls %d", n)
			}
			post.Set("csrf_token", csrfFrom(t, b.postForm("/auth/wazo/login", post, "Sec-Fetch-Site", "same-origin").body))
			res := b.postForm("/auth/wazo/login", post, "Sec-Fetch-Site", "same-origin")
			status(t, res, http.StatusSeeOther)
			if res.Header.Get("Location") != "/inbox" {
				t.Fatalf("Location %q", res.Header.Get("Location"))
			}
			e.assertNoSecrets()
		}},
		{name: "pages: rate-limited pages say when to try again", run: func(t *testing.T, e *env) {
			b := e.browser()
			for i := 0; i < 30; i++ {
				b.get("/auth/alpha/callback?code=junk&state=junk-" + strconv.Itoa(i))
			}
			res := b.get("/auth/alpha/callback?code=junk&state=junk")
			status(t, res, http.StatusTooManyRequests)
			ra := res.Header.Get("Retry-After")
			if ra == "" {
				t.Fatal("no Retry-After")
			}
			contains(t, res.body, "Please try again in "+ra+" seconds.")
			e.clk.Advance(30 * time.Second)
			res = b.get("/auth/alpha/callback?code=junk&state=junk")
			contains(t, res.body, "Please try again in 30 seconds.")

			p := e.browser()
			p.ip = "192.0.2.77"
			tok := csrfFrom(t, p.get("/auth/wazo/login").body)
			bad := url.Values{"csrf_token": {tok}, "username": {"alice"}, "password": {"wrong-password-1"}}
			for i := 0; i < 5; i++ {
				status(t, p.postForm("/auth/wazo/login", bad), http.StatusUnauthorized)
			}
			res = p.postForm("/auth/wazo/login", bad)
			status(t, res, http.StatusTooManyRequests)
			contains(t, res.body, "There have been too many sign-in attempts. Please try again in 60 seconds.")
			contains(t, res.body, `autocomplete="current-password"`) // the form is still there
		}},
		{name: "pages: error pages speak to people; API clients keep the machine code", run: func(t *testing.T, e *env) {
			b := e.browser()
			for _, tc := range []struct{ path, code string }{
				{"/auth/nope/login", "not_found"},
				{"/auth/alpha/callback", "missing_state"},
				{"/auth/alpha/callback?state=nope&code=x", "state_not_found"},
			} {
				res := b.get(tc.path)
				notContains(t, res.body, tc.code)
				for _, jargon := range []string{"OAuth", "RFC", "state", "SameSite"} {
					notContains(t, res.body, jargon)
				}
				if m := jsonBody(t, e.api().get(tc.path)); m["error"] != tc.code {
					t.Fatalf("%s: JSON %v", tc.path, m)
				}
			}
		}},
	}
}
