package middleware_test

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func pagesAuth(t *testing.T, edit func(*middleware.Config)) (*middleware.Auth, error) {
	t.Helper()
	cfg := middleware.Config{Providers: []provider.Provider{demoProvider{}}, PublicURL: "https://app.example"}
	edit(&cfg)
	a, err := middleware.New(cfg)
	if err == nil {
		t.Cleanup(func() { _ = a.Close() })
	}
	return a, err
}

func TestPagesConfigRefused(t *testing.T) {
	t.Parallel()
	tmpl := func(s string) fs.FS { return fstest.MapFS{"x.html": {Data: []byte(s)}} }
	tests := []struct {
		name       string
		givenPages middleware.Pages
		expectErr  string
	}{
		{"display of an unknown provider", middleware.Pages{Display: map[string]middleware.ProviderDisplay{"nope": {Name: "Nope"}}}, `unknown provider "nope"`},
		{"javascript: icon", middleware.Pages{Display: map[string]middleware.ProviderDisplay{"demo": {Icon: "javascript:alert(1)"}}}, "must be a path on this site"},
		{"scheme-relative icon", middleware.Pages{Display: map[string]middleware.ProviderDisplay{"demo": {Icon: "//evil.example/i.png"}}}, "must be a path on this site"},
		{"plain http icon", middleware.Pages{Display: map[string]middleware.ProviderDisplay{"demo": {Icon: "http://cdn.example/i.png"}}}, "must be a path on this site"},
		{"data: icon that is not an image", middleware.Pages{Display: map[string]middleware.ProviderDisplay{"demo": {Icon: "data:text/html,hi"}}}, "must be image/"},
		{"icon with a quote", middleware.Pages{Display: map[string]middleware.ProviderDisplay{"demo": {Icon: `/i.png"onerror="x`}}}, "is not a URL"},
		{"template that does not parse", middleware.Pages{Templates: tmpl(`{{define "chooser"}}{{.Title`)}, "Pages.Templates"},
		{"template that does not run", middleware.Pages{Templates: tmpl(`{{define "error"}}{{.NoSuchField}}{{end}}`)}, `page "error"`},
		{"templates without any .html file", middleware.Pages{Templates: fstest.MapFS{"x.txt": {Data: []byte("x")}}}, "Pages.Templates has no *.html file at its root"},
		{"an embed.FS of pages/*.html passed without fs.Sub", middleware.Pages{Templates: fstest.MapFS{"pages/x.html": {Data: []byte(`{{define "style"}}{{end}}`)}}}, `pass fs.Sub(files, "pages")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := pagesAuth(t, func(c *middleware.Config) { c.Pages = tc.givenPages })
			if !errors.Is(err, middleware.ErrConfig) || !strings.Contains(err.Error(), tc.expectErr) {
				t.Fatalf("New: %v, want ErrConfig with %q", err, tc.expectErr)
			}
		})
	}
}

func TestDefaultTextsComplete(t *testing.T) {
	t.Parallel()
	d := middleware.DefaultTexts()
	v := reflect.ValueOf(d).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String && f.String() == "" {
			t.Errorf("DefaultTexts().%s is empty", v.Type().Field(i).Name)
		}
	}
	for code, e := range d.Errors {
		if e.Title == "" || e.Message == "" {
			t.Errorf("Errors[%q] = %+v: title and message required", code, e)
		}
		for _, jargon := range []string{"OAuth", "RFC", "SameSite", "state", "token", code} {
			if strings.Contains(e.Title+" "+e.Message+" "+strings.Join(e.Reasons, " "), jargon) && jargon != "" {
				t.Errorf("Errors[%q] speaks of %q to users: %+v", code, jargon, e)
			}
		}
	}
	// A copy: changing it changes no other Auth's texts.
	d.Errors["not_found"] = middleware.ErrorText{Title: "changed", Message: "changed"}
	d.SignIn = "changed"
	if again := middleware.DefaultTexts(); again.SignIn == "changed" || again.Errors["not_found"].Message == "changed" {
		t.Fatal("DefaultTexts shares its values")
	}
}

// TestEveryErrorCodeHasText reads the package's sources for every error
// code a failure can carry and requires a page text for each, so no page
// falls back to the English developer text.
func TestEveryErrorCodeHasText(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(os.DirFS("."), "*.go")
	if err != nil {
		t.Fatal(err)
	}
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`\bcode:\s*"([a-z_]+)"`),
		regexp.MustCompile(`\btextKey(?::|\s*=)\s*"([a-z_]+)"`),
		regexp.MustCompile(`f\.code, f\.message = "([a-z_]+)"`),
		regexp.MustCompile(`status, code, f\.message = [^,]+, "([a-z_]+)"`),
		regexp.MustCompile(`f\.status, f\.code, f\.message = [^,]+, "([a-z_]+)"`),
		regexp.MustCompile(`failPassword\([^)]*, "([a-z_]+)", "`),
	}
	texts := middleware.DefaultTexts().Errors
	var seen []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range patterns {
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				seen = append(seen, m[1])
				if _, ok := texts[m[1]]; !ok && m[1] != "invalid_credentials" {
					t.Errorf("%s: error code %q has no DefaultTexts().Errors entry", f, m[1])
				}
			}
		}
	}
	for _, want := range []string{"state_not_found", "provider_error", "access_denied", "rate_limited", "csrf", "logout_csrf", "not_found"} {
		if !slices.Contains(seen, want) {
			t.Errorf("the scan missed code %q: the patterns are out of date", want)
		}
	}
}

func TestPagesPartialTexts(t *testing.T) {
	t.Parallel()
	a, err := pagesAuth(t, func(c *middleware.Config) {
		c.Pages.Texts = &middleware.Texts{Lang: "de", Errors: map[string]middleware.ErrorText{"not_found": {Message: "Diese Seite gibt es nicht."}}}
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example/auth/nope/login", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{`<html lang="de">`, "Diese Seite gibt es nicht.", "<h1>Page not found</h1>"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q: %.500s", want, body)
		}
	}
}

// TestNoticeOnAppLoginPage: an app that serves its own sign-in page shows
// the notices with Auth.Notice; only fixed flags are honoured.
func TestNoticeOnAppLoginPage(t *testing.T) {
	t.Parallel()
	a, err := pagesAuth(t, func(*middleware.Config) {})
	if err != nil {
		t.Fatal(err)
	}
	page := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, a.Notice(r)) }))
	tests := []struct{ givenQuery, expect string }{
		{"notice=session_expired", "Your session has expired. Please sign in again."},
		{"notice=reauth_required", "Your sign-in has ended. Please sign in again."},
		{"notice=signed_out", ""}, // only from the session, after a real sign-out
		{"notice=%3Cscript%3E", ""},
		{"", ""},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example/login?"+tc.givenQuery, nil))
		if got := rec.Body.String(); got != tc.expect {
			t.Errorf("%q: Notice = %q, want %q", tc.givenQuery, got, tc.expect)
		}
	}
}
