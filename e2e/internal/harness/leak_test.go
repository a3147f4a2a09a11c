package harness

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const plantedSecret = "cs-Planted/Secret+42=="

func TestLeakScanner_FindsEncodings(t *testing.T) {
	s := NewLeakScanner()
	s.Plant("client_secret", plantedSecret)
	s.Plant("verifier", "pkce-verifier-abcdefghijklmnop")
	s.Plant("odd", "??>>??>>secret") // base64 has + and /, base64url - and _
	jsonForm, _ := json.Marshal("pkce-verifier-abcdefghijklmnop")

	for _, tc := range []struct {
		text, label, enc string
	}{
		{"x " + plantedSecret + " y", "client_secret", "plain"},
		{"a=" + url.QueryEscape(plantedSecret), "client_secret", "query"},
		{"/p/" + url.PathEscape(plantedSecret), "client_secret", "path"},
		{base64.StdEncoding.EncodeToString([]byte(plantedSecret)), "client_secret", "base64"},
		{base64.RawURLEncoding.EncodeToString([]byte("??>>??>>secret")), "odd", "base64url"},
		{base64.StdEncoding.EncodeToString([]byte("??>>??>>secret")), "odd", "base64"},
		{`{"v":` + string(jsonForm) + `}`, "verifier", "plain"},
	} {
		got := s.find("t", tc.text)
		if len(got) != 1 || got[0].Secret != tc.label || got[0].Encoding != tc.enc {
			t.Errorf("find(%q) = %v, want one %s/%s", tc.text, got, tc.label, tc.enc)
		}
	}
	if got := s.ScanString("clean", "nothing secret here: cs-Planted"); len(got) != 0 {
		t.Fatalf("false positive: %v", got)
	}
	if len(s.Leaks()) != 0 {
		t.Fatal("find must not record")
	}
	if fmt.Sprint(s.Labels()) != "[client_secret odd verifier]" {
		t.Fatalf("Labels = %v", s.Labels())
	}
}

func TestLeakScanner_JSONEscapedSecret(t *testing.T) {
	s := NewLeakScanner()
	s.Plant("pw", `pa"ss<w>rd&1`)
	b, _ := json.Marshal(map[string]string{"echo": `pa"ss<w>rd&1`})
	if got := s.ScanString("json body", string(b)); len(got) != 1 || got[0].Encoding != "json" {
		t.Fatalf("JSON-escaped secret not found in %s: %v", b, got)
	}
}

func TestLeakScanner_ReportsNeverShowValue(t *testing.T) {
	s := NewLeakScanner()
	s.Plant("refresh_token", "rt-very-secret-value")
	s.ScanError("refresh", errors.New("upstream said rt-very-secret-value is bad"))
	s.ScanURL("callback", &url.URL{Path: "/cb", RawQuery: "t=rt-very-secret-value"})
	s.ScanHeader("reply", http.Header{"X-Debug": {"rt-very-secret-value"}})
	leaks := s.Leaks()
	if len(leaks) != 3 {
		t.Fatalf("leaks = %v, want 3", leaks)
	}
	f := runFake(t, func(tb testing.TB) { s.AssertNone(tb) })
	if !f.failed || len(f.msgs) != 3 {
		t.Fatalf("AssertNone: failed=%v msgs=%v", f.failed, f.msgs)
	}
	if strings.Contains(f.message(), "rt-very-secret-value") {
		t.Fatalf("a leak report shows the secret itself: %s", f.message())
	}
	if !strings.Contains(f.message(), "refresh error") || !strings.Contains(f.message(), "callback URL") {
		t.Fatalf("reports do not say where: %s", f.message())
	}
	clean := NewLeakScanner()
	clean.Plant("x", "nothing-to-see-here")
	if f := runFake(t, func(tb testing.TB) { clean.AssertNone(tb) }); f.failed {
		t.Fatalf("clean scanner failed: %s", f.message())
	}
}

func TestLeakScanner_Transport(t *testing.T) {
	GoroutineBaseline(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/next?code=abc&leak="+url.QueryEscape(plantedSecret), http.StatusFound)
		case "/header":
			w.Header().Set("X-Token", "access-token-0123456789")
		case "/body":
			_, _ = io.WriteString(w, `{"token":"access-token-0123456789"}`)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	s := NewLeakScanner()
	s.Plant("client_secret", plantedSecret)
	s.Plant("access_token", "access-token-0123456789")
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: s.Transport(tr)}

	get := func(path string) string {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if body := get("/clean"); body != "ok" || len(s.Leaks()) != 0 {
		t.Fatalf("clean request: body %q leaks %v", body, s.Leaks())
	}
	// The body is still readable by the caller after the scan.
	if body := get("/body"); !strings.Contains(body, "access-token") {
		t.Fatalf("body consumed by the scanner: %q", body)
	}
	get("/header")
	get("/redirect") // the Location header and the followed URL both leak
	var where []string
	for _, l := range s.Leaks() {
		where = append(where, l.Secret+"@"+l.Where)
	}
	want := []string{
		"access_token@GET /body response body",
		"access_token@GET /header response header",
		"client_secret@GET /redirect response header",
		"client_secret@GET /redirect response body", // http.Redirect's HTML link
		"client_secret@GET request URL",
	}
	if fmt.Sprint(where) != fmt.Sprint(want) {
		t.Fatalf("leaks\n got %v\nwant %v", where, want)
	}
}

func TestLeakScanner_ScanLogs(t *testing.T) {
	c := NewLogCapture()
	c.Logger().Info("refresh failed", "body", "secret-in-a-log-line")
	c.Logger().Info("fine")
	s := NewLeakScanner()
	s.Plant("rt", "secret-in-a-log-line")
	got := s.ScanLogs(c)
	if len(got) != 1 || got[0].Where != "log line 1" {
		t.Fatalf("ScanLogs = %v", got)
	}
}

func TestLeakScanner_PlantRefusesShortSecrets(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Plant accepted a 3-byte secret")
		}
	}()
	NewLeakScanner().Plant("short", "abc")
}

func TestLeakScanner_TransportCountsSecretsPlantedLater(t *testing.T) {
	GoroutineBaseline(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "verifier=late-planted-verifier-123")
	}))
	t.Cleanup(srv.Close)
	s := NewLeakScanner()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: s.Transport(tr)}).Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if len(s.Leaks()) != 0 {
		t.Fatal("leak before anything was planted")
	}
	s.Plant("verifier", "late-planted-verifier-123")
	if got := s.Leaks(); len(got) != 1 || got[0].Where != "GET /login response body" {
		t.Fatalf("Leaks = %v, want the earlier response", got)
	}
}
