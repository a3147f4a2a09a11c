package e2e

// Issue 8 item 6: a table of hostile requests against the running apps
// (the demo and the net/http example on net/http, the Echo example and the
// hx Echo app on Echo). Each gets a clear 4xx — HTML for a browser, JSON for an API
// client — the server stays up, and a logged-in bystander's session does
// not change.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"strings"
	"testing"
	"time"
)

// hxBad is one hostile request.
type hxBad struct {
	name string
	// req builds the request for the app at base; victimCookie is the
	// bystander's session cookie value (for truncation and tampering).
	req func(t *testing.T, base, victimCookie string) *http.Request
	// status is the expected status.
	status int
	// allow is the expected Allow header of a 405.
	allow string
	// serverLevel: net/http answers before any handler runs (431), in
	// plain text whatever the client accepts.
	serverLevel bool
	// only limits the case to one client kind ("html" or "json").
	only string
	// needs names a provider the app must have (the demo has them all,
	// the examples run the generic one).
	needs string
}

func hxRandText(n int) string {
	b := make([]byte, n*3/4+1)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func hxReq(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hxGetWithCookie(path, cookie string) func(*testing.T, string, string) *http.Request {
	return func(t *testing.T, base, _ string) *http.Request {
		r := hxReq(t, http.MethodGet, base+path, nil)
		r.Header.Set("Cookie", hxCookie+"="+cookie)
		return r
	}
}

func hxBigForm(path string) func(*testing.T, string, string) *http.Request {
	return func(t *testing.T, base, _ string) *http.Request {
		body := "csrf_token=x&pad=" + strings.Repeat("A", 10<<20)
		r := hxReq(t, http.MethodPost, base+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", base)
		return r
	}
}

func hxMethod(method, path string) func(*testing.T, string, string) *http.Request {
	return func(t *testing.T, base, _ string) *http.Request { return hxReq(t, method, base+path, nil) }
}

var hxBadInputs = []hxBad{
	{name: "oversized_headers", status: http.StatusRequestHeaderFieldsTooLarge, serverLevel: true,
		req: func(t *testing.T, base, _ string) *http.Request {
			r := hxReq(t, http.MethodGet, base+"/auth/login", nil)
			pad := strings.Repeat("h", 64<<10)
			for i := range 17 { // 17 × 64 KiB > 1 MiB (net/http's DefaultMaxHeaderBytes)
				r.Header.Set(fmt.Sprintf("X-Pad-%d", i), pad)
			}
			return r
		}},
	{name: "oversized_session_cookie", status: http.StatusUnauthorized, only: "json",
		req: hxGetWithCookie("/api/me", hxRandText(16<<10))},
	{name: "many_cookies", status: http.StatusUnauthorized, only: "json",
		req: func(t *testing.T, base, _ string) *http.Request {
			r := hxReq(t, http.MethodGet, base+"/api/me", nil)
			var parts []string
			for i := range 300 {
				parts = append(parts, fmt.Sprintf("c%d=%s", i, hxRandText(512)))
			}
			parts = append(parts, hxCookie+"="+hxRandText(43))
			r.Header.Set("Cookie", strings.Join(parts, "; "))
			return r
		}},
	{name: "garbage_session_cookie", status: http.StatusUnauthorized, only: "json",
		req: hxGetWithCookie("/api/me", `"%00%ff<script>'--;`)},
	{name: "truncated_session_cookie", status: http.StatusUnauthorized, only: "json",
		req: func(t *testing.T, base, victim string) *http.Request {
			return hxGetWithCookie("/api/me", victim[:len(victim)/2])(t, base, victim)
		}},
	{name: "extended_session_cookie", status: http.StatusUnauthorized, only: "json",
		req: func(t *testing.T, base, victim string) *http.Request {
			return hxGetWithCookie("/api/me", victim+"AAAA")(t, base, victim)
		}},
	{name: "garbage_cookie_on_callback", status: http.StatusBadRequest,
		req: hxGetWithCookie("/auth/oauth2/callback?code=abc&state=forged-state-value", hxRandText(4096))},
	{name: "forged_state", status: http.StatusBadRequest,
		req: hxMethod(http.MethodGet, "/auth/oauth2/callback?code=abc&state="+hxRandText(43))},
	{name: "forged_state_with_error", status: http.StatusBadRequest,
		req: hxMethod(http.MethodGet, "/auth/oauth2/callback?error=access_denied&state="+hxRandText(43))},
	{name: "missing_state", status: http.StatusBadRequest,
		req: hxMethod(http.MethodGet, "/auth/oauth2/callback?code=abc")},
	{name: "crlf_in_state_and_code", status: http.StatusBadRequest,
		req: hxMethod(http.MethodGet, "/auth/oauth2/callback?code=a%0d%0aX-Injected:%201&state=s%0d%0aSet-Cookie:%20hx=1")},
	{name: "crlf_in_error_description", status: http.StatusBadRequest,
		req: hxMethod(http.MethodGet, "/auth/oauth2/callback?error=x%0d%0aX-Injected:1&error_description=%0d%0aSet-Cookie:%20hx=1%0d%0a&state=forged")},
	{name: "crlf_in_provider_name", status: http.StatusNotFound,
		req: hxMethod(http.MethodGet, "/auth/oauth2%0d%0aX-Injected:%201/login")},
	{name: "ten_mib_logout_form", status: http.StatusRequestEntityTooLarge, req: hxBigForm("/auth/logout")},
	{name: "ten_mib_token_form", status: http.StatusRequestEntityTooLarge, req: hxBigForm("/auth/token")},
	{name: "ten_mib_password_form", status: http.StatusRequestEntityTooLarge, needs: hxWazo, req: hxBigForm("/auth/wazo/login")},
	{name: "ten_mib_password_json", status: http.StatusRequestEntityTooLarge, needs: hxWazo, only: "json",
		req: func(t *testing.T, base, _ string) *http.Request {
			body := `{"username":"alice","password":"` + strings.Repeat("p", 10<<20) + `"}`
			r := hxReq(t, http.MethodPost, base+"/auth/wazo/login", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
	{name: "crlf_in_username", status: http.StatusUnauthorized, needs: hxWazo, only: "json",
		req: func(t *testing.T, base, _ string) *http.Request {
			body := `{"username":"alice\r\nX-Injected: 1","password":"x\r\nSet-Cookie: hx=1"}`
			r := hxReq(t, http.MethodPost, base+"/auth/wazo/login", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
	{name: "unknown_provider_login", status: http.StatusNotFound, req: hxMethod(http.MethodGet, "/auth/nope/login")},
	{name: "unknown_provider_callback", status: http.StatusNotFound, req: hxMethod(http.MethodGet, "/auth/nope/callback?code=a&state=b")},
	{name: "unknown_provider_post", status: http.StatusNotFound, req: hxMethod(http.MethodPost, "/auth/nope/login")},
	{name: "provider_name_case", status: http.StatusNotFound, req: hxMethod(http.MethodGet, "/auth/OAUTH2/login")},
	{name: "provider_name_space", status: http.StatusNotFound, req: hxMethod(http.MethodGet, "/auth/oauth2%20/login")},
	{name: "unknown_action", status: http.StatusNotFound, req: hxMethod(http.MethodGet, "/auth/oauth2/admin")},
	{name: "delete_logout", status: http.StatusMethodNotAllowed, allow: "GET, HEAD, POST", req: hxMethod(http.MethodDelete, "/auth/logout")},
	{name: "get_token", status: http.StatusMethodNotAllowed, allow: "POST", req: hxMethod(http.MethodGet, "/auth/token")},
	{name: "put_callback", status: http.StatusMethodNotAllowed, allow: "GET", req: hxMethod(http.MethodPut, "/auth/oauth2/callback?code=a&state=b")},
	{name: "patch_login", status: http.StatusMethodNotAllowed, allow: "GET, HEAD", req: hxMethod(http.MethodPatch, "/auth/oauth2/login")},
	{name: "post_chooser", status: http.StatusMethodNotAllowed, allow: "GET, HEAD", req: hxMethod(http.MethodPost, "/auth/login")},
}

// TestHxBadInput sends every hostile request, as a browser and as an API
// client, to each running app.
func TestHxBadInput(t *testing.T) {
	kinds := []hxKind{}
	for _, k := range hxKinds() {
		// The example apps, and the hx Echo app, which has every provider
		// (the Echo example runs the generic one only).
		if !k.hx || k.stack == hxStackEcho {
			kinds = append(kinds, k)
		}
	}
	for _, kind := range kinds {
		t.Run(kind.stack+"/"+kind.name, func(t *testing.T) {
			tg := kind.start(t, hxOAuth2)
			hxBadInputSuite(t, tg)
		})
	}
}

func hxBadInputSuite(t *testing.T, tg *hxTarget) {
	// The bystander: logged in, with a JWT too.
	victim := hxNewBrowser(t, tg.url)
	victim.mustLogin(tg.prov(t, hxOAuth2))
	victimCookie := victim.cookieValue()
	if victimCookie == "" {
		t.Fatal("the bystander has no session cookie")
	}
	snapshot := func() string {
		t.Helper()
		resp := victim.nf.GET("/api/me").WithHeader("Accept", "application/json").Expect().Status(http.StatusOK)
		return resp.Body().Raw()
	}
	want := snapshot()

	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	attacker := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, c := range hxBadInputs {
		for _, client := range []string{"html", "json"} {
			if c.only != "" && c.only != client {
				continue
			}
			if c.needs != "" && !hxHasProv(tg, c.needs) {
				continue
			}
			t.Run(c.name+"/"+client, func(t *testing.T) {
				req := c.req(t, tg.url, victimCookie)
				if client == "html" {
					req.Header.Set("Accept", "text/html,application/xhtml+xml")
				} else {
					req.Header.Set("Accept", "application/json")
				}
				resp, err := attacker.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				hxCheckBad(t, c, client, resp, string(body))

				// The server is up, and the bystander is untouched.
				up, err := attacker.Get(tg.url + "/auth/login")
				if err != nil {
					t.Fatalf("the server is down after %s: %v", c.name, err)
				}
				_, _ = io.Copy(io.Discard, up.Body)
				up.Body.Close()
				if up.StatusCode != http.StatusOK {
					t.Fatalf("GET /auth/login after %s = %d", c.name, up.StatusCode)
				}
				if got := snapshot(); got != want {
					t.Fatalf("the bystander's /api/me changed after %s:\n%s\nwant:\n%s", c.name, got, want)
				}
			})
		}
	}
	if victim.cookieValue() != victimCookie {
		t.Fatal("the bystander's session cookie changed")
	}
}

func hxCheckBad(t *testing.T, c hxBad, client string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != c.status {
		t.Fatalf("%s %s = %d, want %d:\n%.400s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, c.status, body)
	}
	if c.allow != "" && resp.Header.Get("Allow") != c.allow {
		t.Fatalf("405 with Allow %q, want %q", resp.Header.Get("Allow"), c.allow)
	}
	// Nothing injected into the headers, no session handed out.
	if resp.Header.Get("X-Injected") != "" {
		t.Fatal("a CRLF in the request injected a response header")
	}
	for _, sc := range resp.Cookies() {
		if sc.Name == "hx" {
			t.Fatalf("a CRLF in the request set a cookie: %v", sc)
		}
	}
	if strings.ContainsAny(resp.Header.Get("Location"), "\r\n") {
		t.Fatalf("Location with CR/LF: %q", resp.Header.Get("Location"))
	}
	mt := hxMediaType(resp)
	if c.serverLevel {
		if mt != "text/plain" {
			t.Fatalf("server-level %d with Content-Type %q", resp.StatusCode, mt)
		}
		return
	}
	switch client {
	case "html":
		if mt != "text/html" {
			t.Fatalf("a browser got %d with Content-Type %q, want text/html:\n%.300s", resp.StatusCode, mt, body)
		}
		if !strings.Contains(strings.ToLower(body), "<html") {
			t.Fatalf("a browser got %d without an HTML page:\n%.300s", resp.StatusCode, body)
		}
	case "json":
		if mt != "application/json" {
			t.Fatalf("an API client got %d with Content-Type %q, want application/json:\n%.300s", resp.StatusCode, mt, body)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil || m["error"] == nil || m["error"] == "" {
			t.Fatalf("an API client got %d without a JSON error: %v\n%.300s", resp.StatusCode, err, body)
		}
	}
}

func hxHasProv(tg *hxTarget, name string) bool {
	for _, p := range tg.provs {
		if p.name == name {
			return true
		}
	}
	return false
}
