package whisk_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// replyTransport answers every request with one canned reply, in memory,
// and sends the request URL to seen when that is non-nil.
type replyTransport struct {
	status int
	ctype  string
	body   []byte
	seen   chan<- string
}

func (rt replyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	if rt.seen != nil {
		rt.seen <- r.Method + " " + r.URL.String()
	}
	h := http.Header{}
	if rt.ctype != "" {
		h.Set("Content-Type", rt.ctype)
	}
	return &http.Response{
		StatusCode: rt.status, Header: h, Request: r,
		Body: io.NopCloser(bytes.NewReader(rt.body)), ContentLength: int64(len(rt.body)),
	}, nil
}

func cannedAdapter(t testing.TB, status int, body string) *whisk.Adapter {
	t.Helper()
	cfg := baseConfig()
	cfg.HTTPClient = &http.Client{Transport: replyTransport{status: status, ctype: "application/json", body: []byte(body)}}
	a, err := whisk.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestDecodeErrorTable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		status   int
		body     string
		wantKind error
		wantCode string
		wantDesc string
	}{
		{"token expired", 401, `{"code":"auth.tokenExpired"}`, provider.ErrInvalidGrant, "auth.tokenExpired", ""},
		{"token not found", 401, `{"code":"auth.tokenNotFound"}`, provider.ErrInvalidGrant, "auth.tokenNotFound", ""},
		{"token invalid v1", 401, `{"code":"auth.tokenInvalid"}`, provider.ErrInvalidGrant, "auth.tokenInvalid", ""},
		{"oauth unauthorized", 401, `{"code":"oauth.unauthorized"}`, provider.ErrInvalidGrant, "oauth.unauthorized", ""},
		{"legacy anonymous expired", 401, `{"description":"The Access Token expired;","code":"user.tokenExpired"}`, provider.ErrInvalidGrant, "user.tokenExpired", "The Access Token expired;"},
		{"token required", 401, `{"code":"auth.tokenRequired"}`, provider.ErrRejected, "auth.tokenRequired", ""},
		{"bad request with message", 400, `{"code":"general.badRequest","message":"code is missing"}`, provider.ErrRejected, "general.badRequest", "code is missing"},
		{"not found", 400, `{"code":"general.notFound"}`, provider.ErrRejected, "general.notFound", ""},
		{"scope required", 403, `{"code":"authorization.scopeRequired"}`, provider.ErrRejected, "authorization.scopeRequired", ""},
		{"forbidden", 403, `{"code":"authorization.forbidden"}`, provider.ErrRejected, "authorization.forbidden", ""},
		{"unknown code tolerated", 400, `{"code":"something.new","extra":[1,2]}`, provider.ErrRejected, "something.new", ""},
		{"rfc invalid_grant", 400, `{"error":"invalid_grant","error_description":"code used"}`, provider.ErrInvalidGrant, "invalid_grant", "code used"},
		{"rfc invalid_client", 401, `{"error":"invalid_client"}`, provider.ErrRejected, "invalid_client", ""},
		{"rfc unsupported grant", 400, `{"error":"unsupported_grant_type"}`, provider.ErrRejected, "unsupported_grant_type", ""},
		{"status first: 500 with dead-token code", 500, `{"code":"auth.tokenNotFound"}`, provider.ErrUnavailable, "auth.tokenNotFound", ""},
		{"status first: 403 with dead-token code", 403, `{"code":"auth.tokenExpired"}`, provider.ErrRejected, "auth.tokenExpired", ""},
		{"503 html", 503, `<html>down</html>`, provider.ErrUnavailable, "", ""},
		{"429 empty", 429, ``, provider.ErrUnavailable, "", ""},
		{"500 no body", 500, ``, provider.ErrUnavailable, "", ""},
		{"401 not json", 401, `nope`, provider.ErrRejected, "", ""},
		{"code not a string", 401, `{"code":42}`, provider.ErrRejected, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := whisk.DecodeError(tc.status, http.Header{}, []byte(tc.body))
			if e == nil {
				t.Fatal("nil error")
			}
			if !errors.Is(e, tc.wantKind) || e.Code != tc.wantCode || e.Description != tc.wantDesc {
				t.Errorf("got kind %v code %q desc %q; want %v %q %q", e.Kind, e.Code, e.Description, tc.wantKind, tc.wantCode, tc.wantDesc)
			}
		})
	}
}

// On the token endpoint the decoder's classification stands; on API calls
// every 401 is ErrUnauthorized. The raw body never reaches Error().
func TestErrorMappingByOperation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const leaky = `{"code":"auth.tokenNotFound","message":"token at-LEAK-123 deleted"}`

	_, err := cannedAdapter(t, 401, leaky).Refresh(ctx, &provider.Token{AccessToken: "old", RefreshToken: "rt"})
	if !errors.Is(err, provider.ErrInvalidGrant) {
		t.Errorf("refresh: err = %v, want ErrInvalidGrant", err)
	}
	_, err = cannedAdapter(t, 401, leaky).Exchange(ctx, "code", "verifier")
	if !errors.Is(err, provider.ErrInvalidGrant) {
		t.Errorf("exchange: err = %v, want ErrInvalidGrant", err)
	}
	for _, body := range []string{leaky, `{"code":"auth.tokenExpired"}`, `{"code":"auth.tokenRequired"}`, `{"code":"what.ever"}`} {
		_, err = cannedAdapter(t, 401, body).Identity(ctx, &provider.Token{AccessToken: "at", TokenType: "Bearer"})
		if !errors.Is(err, provider.ErrUnauthorized) || errors.Is(err, provider.ErrInvalidGrant) {
			t.Errorf("identity %s: err = %v, want ErrUnauthorized only", body, err)
		}
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Op != "identity" || pe.StatusCode != 401 || pe.Provider != "whisk" {
			t.Errorf("identity: error fields = %+v", pe)
		}
		if strings.Contains(err.Error(), "LEAK") {
			t.Errorf("error text carries the body: %v", err)
		}
	}
	_, err = cannedAdapter(t, 403, `{"code":"authorization.scopeRequired"}`).Identity(ctx, &provider.Token{AccessToken: "at"})
	var pe *provider.Error
	if !errors.Is(err, provider.ErrRejected) || !errors.As(err, &pe) || pe.Code != whisk.CodeScopeRequired {
		t.Errorf("identity 403: err = %v", err)
	}
}

func TestMapUser(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		body    string
		want    provider.Identity
		wantErr bool
	}{
		{
			name: "full",
			body: `{"user":{"id":"5f1d","email":"ann@example.com","user_settings":{"personal_details":{"first_name":"Ann","last_name":"Lee","photo_url":"https://img.example/a.png"}}}}`,
			want: provider.Identity{Subject: "5f1d", Email: "ann@example.com", Name: "Ann Lee", Picture: "https://img.example/a.png"},
		},
		{
			name: "empty strings are unset",
			body: `{"user":{"id":"5f1d","email":"","phone":"","user_settings":{"personal_details":{"first_name":"","last_name":"Lee","photo_url":""}}}}`,
			want: provider.Identity{Subject: "5f1d", Name: "Lee"},
		},
		{name: "numeric id", body: `{"user":{"id":12345678901234567890}}`, want: provider.Identity{Subject: "12345678901234567890"}},
		{name: "no user", body: `{"id":"5f1d"}`, wantErr: true},
		{name: "user not object", body: `{"user":"5f1d"}`, wantErr: true},
		{name: "no id", body: `{"user":{"email":"a@b.c"}}`, wantErr: true},
		{name: "empty id", body: `{"user":{"id":"  "}}`, wantErr: true},
		{name: "settings wrong type", body: `{"user":{"id":"x","user_settings":[1]}}`, want: provider.Identity{Subject: "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			claims, err := provider.DecodeJSONObject([]byte(tc.body), "")
			if err != nil {
				t.Fatal(err)
			}
			id, err := whisk.MapUser(claims)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", id)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != tc.want.Subject || id.Email != tc.want.Email || id.Name != tc.want.Name || id.Picture != tc.want.Picture {
				t.Errorf("identity = %+v, want %+v", id, tc.want)
			}
		})
	}
}

// FuzzWhiskTokenReply feeds arbitrary token-endpoint replies through the
// adapter's exchange path (bounded read, Whisk error decoding, token
// parsing). Whatever the bytes, the result is a valid token or a typed
// error, never a panic, and error text never carries the reply body.
func FuzzWhiskTokenReply(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, `{"access_token":"at","token_type":"Bearer","expires_in":2592000,"scope":["cookbook:write"],"refresh_token":"rt"}`},
		{200, `{"access_token":"at","token_type":"bearer","expires_in":"86400","scope":"a,b c","new_user":false}`},
		{200, `{"access_token":"at","token_type":"Bearer","scope":[1]}`},
		{200, `{"access_token":"","token_type":"Bearer"}`},
		{200, `{"access_token":"at","token_type":"mac"}`},
		{200, `{"access_token":"at","token_type":"Bearer","expires_in":1e999}`},
		{200, `[]`},
		{400, `{"error":"invalid_grant"}`},
		{401, `{"code":"auth.tokenNotFound","message":"gone"}`},
		{503, `<html>`},
	} {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 200 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		received := time.Now()
		cfg := baseConfig()
		cfg.HTTPClient = &http.Client{Transport: replyTransport{status: status, ctype: "application/json", body: body}}
		a, err := whisk.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := a.Exchange(context.Background(), "code", "verifier")
		if err != nil {
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Kind == nil {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if len(body) >= 8 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("error text carries the body: %v", err)
			}
			return
		}
		if status >= 300 {
			t.Fatalf("status %d gave a token", status)
		}
		if tok.AccessToken == "" || tok.TokenType != "Bearer" {
			t.Fatalf("accepted token %v", tok)
		}
		if !tok.Expiry.IsZero() && !tok.Expiry.After(received) {
			t.Fatalf("expiry %v not after receipt", tok.Expiry)
		}
		claims, err := provider.DecodeJSONObject(body, "")
		if err == nil {
			if id, err := whisk.MapUser(claims); err == nil && id.Subject == "" {
				t.Fatal("identity without subject")
			}
		}
	})
}
