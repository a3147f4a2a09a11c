// Package exampletest drives the example apps over HTTP the way a browser
// does, for their tests.
package exampletest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Browser returns a cookie-keeping client that follows redirects (through
// the fakes' auto-approving authorize endpoints).
func Browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// Do sends req and returns the response with its body read.
func Do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// Get GETs u with headers given as name, value pairs.
func Get(t testing.TB, c *http.Client, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return Do(t, c, req)
}

// PostForm POSTs form to u with headers given as name, value pairs.
func PostForm(t testing.TB, c *http.Client, u string, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return Do(t, c, req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// CSRF returns the first csrf_token hidden field of page.
func CSRF(t testing.TB, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token in page:\n%s", page)
	}
	return m[1]
}

// Login signs in at base with provider name and returns the page it ends
// on, which must be "/". For a password provider, username and password
// go through the provider's HTML form.
func Login(t testing.TB, c *http.Client, base, name, username, password string) string {
	t.Helper()
	if username != "" {
		_, form := Get(t, c, base+"/auth/"+name+"/login")
		resp, body := PostForm(t, c, base+"/auth/"+name+"/login", url.Values{
			"csrf_token": {CSRF(t, form)}, "username": {username}, "password": {password}, "return_to": {"/"}})
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
			t.Fatalf("%s login ended at %s with %d:\n%s", name, resp.Request.URL, resp.StatusCode, body)
		}
		return body
	}
	resp, body := Get(t, c, base+"/auth/"+name+"/login?return_to=%2F")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("%s login ended at %s with %d:\n%s", name, resp.Request.URL, resp.StatusCode, body)
	}
	return body
}

// Me GETs base+"/api/me" as JSON and decodes an object.
func Me(t testing.TB, c *http.Client, base string, header ...string) (int, map[string]any) {
	t.Helper()
	resp, body := Get(t, c, base+"/api/me", append([]string{"Accept", "application/json"}, header...)...)
	var m map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("/api/me: %v: %s", err, body)
		}
	}
	return resp.StatusCode, m
}

// MintJWT posts to base+"/auth/token" with the CSRF token of page and
// returns the JWT.
func MintJWT(t testing.TB, c *http.Client, base, page string) string {
	t.Helper()
	resp, body := PostForm(t, c, base+"/auth/token", url.Values{"csrf_token": {CSRF(t, page)}}, "Accept", "application/json")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("POST /auth/token = %d %s", resp.StatusCode, body)
	}
	return tok.AccessToken
}

// Logout posts the logout form with the CSRF token of page and checks that
// the session is gone. It does not follow the redirect: with a single
// redirect provider, "/" would send the browser straight back through an
// auto-approving fake and log it in again.
func Logout(t testing.TB, c *http.Client, base, page string) {
	t.Helper()
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, body := PostForm(t, &noFollow, base+"/auth/logout", url.Values{"csrf_token": {CSRF(t, page)}, "return_to": {"/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("logout = %d, Location %q:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if code, _ := Me(t, c, base); code != http.StatusUnauthorized {
		t.Fatalf("/api/me after logout = %d, want 401", code)
	}
}

// RunFunc is an example command's run function.
type RunFunc func(ctx context.Context, getenv func(string) string, logger *slog.Logger, out io.Writer, ready func(url string)) error

// TestCommand checks an example command's run: with a fake Wazo on a free
// port it prints the banner, serves the Wazo login form and stops when its
// context is cancelled; with an unknown provider it fails.
func TestCommand(t *testing.T, run RunFunc) {
	t.Helper()
	env := map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_PROVIDER": "wazo"}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, getenv, slog.New(slog.DiscardHandler), &out, func(u string) { ready <- u })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	}
	// ready is called after the banner is written, and out is not
	// written again until run returns.
	banner := out.String()
	for _, want := range []string{"open " + base, "in-process fake", "fake Wazo account: alice / "} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	resp, err := http.Get(base + "/auth/wazo/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/wazo/login = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	env["GATEHOUSE_PROVIDER"] = "nope"
	if err := run(context.Background(), getenv, slog.New(slog.DiscardHandler), io.Discard, nil); err == nil {
		t.Fatal("run with an unknown provider succeeded")
	}
}
