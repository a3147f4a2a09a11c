package middleware_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
)

// multipartBody encodes fields (name, value pairs) as multipart/form-data,
// plus a file part when file is non-empty.
func multipartBody(t *testing.T, file string, fields ...string) (ctype, body string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if file != "" {
		fw, err := mw.CreateFormFile("upload", "upload.bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write([]byte(file)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.String()
}

// TestMultipartForms: the handlers that accept multipart/form-data read
// it: logout and token with a valid CSRF token in a multipart body succeed
// (a wrong one is still refused), a multipart password login works, and a
// multipart body over MaxBodyBytes is 413.
func TestMultipartForms(t *testing.T) {
	app := newSecApp(t, nil)
	t.Setenv("TMPDIR", t.TempDir()) // multipart temp files, if any were made, would land here

	t.Run("password login and token", func(t *testing.T) {
		b := app.browser()
		tok := logoutToken(t, b)
		ct, body := multipartBody(t, "", "username", "alice", "password", "wrong-password", "csrf_token", tok)
		wantStatus(t, b.do(http.MethodPost, "/auth/wazo/login", ct, body), http.StatusUnauthorized)
		ct, body = multipartBody(t, "", "username", "alice", "password", "correct-horse-battery", "csrf_token", tok, "return_to", "/private")
		res := b.do(http.MethodPost, "/auth/wazo/login", ct, body)
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/private" {
			t.Fatalf("Location %q", loc)
		}
		wantStatus(t, b.get("/private"), http.StatusOK)

		cur := logoutToken(t, b)
		ct, body = multipartBody(t, "", "csrf_token", "not-the-token")
		wantStatus(t, b.do(http.MethodPost, "/auth/token", ct, body), http.StatusForbidden)
		ct, body = multipartBody(t, "x", "csrf_token", cur)
		res = b.do(http.MethodPost, "/auth/token", ct, body)
		wantStatus(t, res, http.StatusOK)
		if s := readBody(t, res); !strings.Contains(s, `"access_token"`) {
			t.Fatalf("token body %s", s)
		}
	})

	t.Run("logout", func(t *testing.T) {
		b := app.browser()
		wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
		tok := logoutToken(t, b)
		ct, body := multipartBody(t, "", "csrf_token", "not-the-token")
		wantStatus(t, b.do(http.MethodPost, "/auth/logout", ct, body), http.StatusForbidden)
		wantStatus(t, b.get("/private"), http.StatusOK)
		ct, body = multipartBody(t, strings.Repeat("f", 4<<10), "csrf_token", tok, "return_to", "/optional")
		res := b.do(http.MethodPost, "/auth/logout", ct, body)
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/optional" {
			t.Fatalf("Location %q", loc)
		}
		wantStatus(t, b.get("/private"), http.StatusFound)
	})

	t.Run("too large and malformed", func(t *testing.T) {
		b := app.browser()
		tok := logoutToken(t, b)
		ct, body := multipartBody(t, strings.Repeat("f", 100<<10), "csrf_token", tok)
		wantStatus(t, b.do(http.MethodPost, "/auth/logout", ct, body), http.StatusRequestEntityTooLarge)
		wantStatus(t, b.do(http.MethodPost, "/auth/logout", "multipart/form-data", "junk"), http.StatusBadRequest)
		wantStatus(t, b.do(http.MethodPost, "/auth/logout", "multipart/form-data; boundary=XX", "junk"), http.StatusBadRequest)
	})

	if left, err := os.ReadDir(os.Getenv("TMPDIR")); err != nil || len(left) != 0 {
		t.Fatalf("temporary files left behind: %v %v", left, err)
	}
}
