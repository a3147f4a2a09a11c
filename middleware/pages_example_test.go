package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing/fstest"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Theme the built-in pages: the app's name, how a provider is shown, a
// translated text, and templates of the app's own (here an fstest.MapFS;
// an embed.FS or os.DirFS in an app) that replace the built-in CSS and
// add the app's stylesheet with the page's CSP nonce.
func ExampleConfig_pages() {
	texts := middleware.DefaultTexts()
	texts.SignInWith = "Log in with {provider}"
	auth, err := middleware.New(middleware.Config{
		Providers: []provider.Provider{demoProvider{}},
		PublicURL: "https://app.example",
		AppName:   "Example App",
		Pages: middleware.Pages{
			Display: map[string]middleware.ProviderDisplay{"demo": {Name: "Demo Directory", Icon: "/static/demo.svg"}},
			Texts:   texts,
			Templates: fstest.MapFS{"theme.html": {Data: []byte(`
{{define "style"}}body{font-family:Georgia,serif}{{end}}
{{define "foot"}}<link rel="stylesheet" nonce="{{.Nonce}}" href="/static/app.css"></main></body></html>{{end}}`)}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer auth.Close()

	rec := httptest.NewRecorder()
	auth.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example/auth/demo/login", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, re := range []string{`<title>[^<]*</title>`, `<p class="app">[^<]*</p>`, `<img src="[^"]*" alt="">`, `<span>[^<]*</span>`} {
		fmt.Println(regexp.MustCompile(re).FindString(string(body)))
	}
	// The app's stylesheet carries this response's nonce, which the
	// Content-Security-Policy allows.
	nonce := regexp.MustCompile(`'nonce-([^']+)'`).FindStringSubmatch(rec.Header().Get("Content-Security-Policy"))[1]
	fmt.Println(regexp.MustCompile(`<link rel="stylesheet" nonce="` + nonce + `" href="/static/app.css">`).Match(body))
	// Output:
	// <title>Log in with Demo Directory · Example App</title>
	// <p class="app">Example App</p>
	// <img src="/static/demo.svg" alt="">
	// <span>Log in with Demo Directory</span>
	// true
}
