package provider_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// upstream starts a test server running h and counting calls.
func upstream(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func TestClientSendsFormWithBasicAuth(t *testing.T) {
	t.Parallel()
	s, calls := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.RawQuery != "" {
			t.Errorf("%s %s", r.Method, r.URL)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q", ct)
		}
		if r.Header.Get("Accept") != "application/json" || r.Header.Get("X-Extra") != "1" {
			t.Errorf("headers %v", r.Header)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "id" || p != "secret" {
			t.Errorf("basic %q %q %v", u, p, ok)
		}
		_ = r.ParseForm()
		if r.PostForm.Get("s") != "v" || strings.Join(r.PostForm["l"], ",") != "a,b" || r.PostForm.Get("b") != "true" ||
			r.PostForm.Get("i") != "3" || r.PostForm.Get("i64") != "4" {
			t.Errorf("form %v", r.PostForm)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	c := &provider.Client{Provider: "p", Now: func() time.Time { return received }}
	resp, err := c.Do(context.Background(), "exchange", provider.Request{
		URL: s.URL, BasicUser: "id", BasicPass: "secret", Header: http.Header{"X-Extra": {"1"}},
		Params: map[string]any{"s": "v", "l": []string{"a", "b"}, "b": true, "i": 3, "i64": int64(4)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(resp.Body) != `{"ok":true}` || !resp.Received.Equal(received) || calls.Load() != 1 {
		t.Errorf("resp %+v", resp)
	}
}

func TestClientJSONAndGET(t *testing.T) {
	t.Parallel()
	s, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/get" {
			if r.Method != http.MethodGet || r.ContentLength > 0 {
				t.Errorf("GET expected, got %s with %d bytes", r.Method, r.ContentLength)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		var m map[string]any
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&m) != nil || m["code"] != `a"b\c` {
			t.Errorf("JSON body %v", m)
		}
		w.WriteHeader(http.StatusCreated)
	})
	c := &provider.Client{}
	if _, err := c.Do(context.Background(), "x", provider.Request{URL: s.URL, Params: map[string]any{"code": `a"b\c`}, Encoding: provider.JSONEncoding}); err != nil {
		t.Fatal(err)
	}
	if resp, err := c.Do(context.Background(), "x", provider.Request{URL: s.URL + "/get"}); err != nil || resp.StatusCode != 204 {
		t.Fatal(resp, err)
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	const tokenLike = "ya29.LEAKED-token-value-0123456789"
	tests := []struct {
		name    string
		handler http.HandlerFunc
		client  provider.Client
		req     func(u string) provider.Request
		kind    error
		calls   int32
		check   func(t *testing.T, pe *provider.Error)
	}{
		{
			name: "307 is an error, not followed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
			},
			kind: provider.ErrBadResponse, calls: 1,
			check: func(t *testing.T, pe *provider.Error) {
				if pe.StatusCode != 307 {
					t.Errorf("status %d", pe.StatusCode)
				}
			},
		},
		{
			name:    "302 with a custom HTTPClient that follows redirects",
			handler: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
			client:  provider.Client{HTTPClient: &http.Client{}},
			kind:    provider.ErrBadResponse, calls: 1,
		},
		{
			name: "1 MiB + 1 body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, strings.Repeat("a", provider.DefaultMaxBody+1))
			},
			kind: provider.ErrBadResponse, calls: 1,
		},
		{
			name:    "MaxBody option",
			handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "0123456789") },
			client:  provider.Client{MaxBody: 9},
			kind:    provider.ErrBadResponse, calls: 1,
		},
		{
			name: "timeout",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leaving
				<-r.Context().Done()
			},
			client: provider.Client{Timeout: 50 * time.Millisecond},
			kind:   provider.ErrUnavailable, calls: 1,
			check: func(t *testing.T, pe *provider.Error) {
				if !errors.Is(pe, context.DeadlineExceeded) || !strings.Contains(pe.Error(), "timeout") {
					t.Errorf("timeout cause lost: %v", pe)
				}
			},
		},
		{
			name: "500 with a token in the body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(500)
				_, _ = io.WriteString(w, `{"error":"server_error","error_description":"failed for `+tokenLike+`","token":"`+tokenLike+`"}`+strings.Repeat(" ", 8<<10))
			},
			kind: provider.ErrUnavailable, calls: 1,
			check: func(t *testing.T, pe *provider.Error) {
				if strings.Contains(pe.Error(), tokenLike) {
					t.Errorf("error string leaks the body: %s", pe)
				}
				if pe.RetryAfter != 2*time.Minute || provider.RetryAfter(pe) != 2*time.Minute || !provider.IsTransient(pe) {
					t.Errorf("RetryAfter %v", pe.RetryAfter)
				}
				if len(pe.Body) != provider.MaxErrorBody || pe.Code != "server_error" || !strings.Contains(pe.Description, tokenLike) {
					t.Errorf("body %d bytes, code %q", len(pe.Body), pe.Code)
				}
			},
		},
		{
			name: "invalid_grant",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"expired","error_uri":"https://e/x"}`)
			},
			kind: provider.ErrInvalidGrant, calls: 1,
			check: func(t *testing.T, pe *provider.Error) {
				if pe.Code != "invalid_grant" || pe.Description != "expired" || pe.URI != "https://e/x" || pe.StatusCode != 400 {
					t.Errorf("%+v", pe)
				}
				if s := pe.Error(); !strings.Contains(s, "provider p: refresh: invalid grant (invalid_grant) HTTP 400") || strings.Contains(s, "expired") {
					t.Errorf("Error() = %q", s)
				}
			},
		},
		{
			name: "form-encoded invalid_grant",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `error=invalid_grant&error_description=bad`)
			},
			kind: provider.ErrInvalidGrant, calls: 1,
		},
		{
			name: "invalid_client is rejected",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(401)
				_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
			},
			kind: provider.ErrRejected, calls: 1,
		},
		{
			name: "429 is transient, Retry-After as a date",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", received.Add(30*time.Second).Format(http.TimeFormat))
				w.WriteHeader(429)
			},
			client: provider.Client{Now: func() time.Time { return received }},
			kind:   provider.ErrUnavailable, calls: 1,
			check: func(t *testing.T, pe *provider.Error) {
				if pe.RetryAfter != 30*time.Second {
					t.Errorf("RetryAfter %v", pe.RetryAfter)
				}
			},
		},
		{
			name: "absurd Retry-After is capped",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "99999999999999999")
				w.WriteHeader(503)
			},
			kind: provider.ErrUnavailable, calls: 1,
			check: func(t *testing.T, pe *provider.Error) {
				if pe.RetryAfter <= 0 || pe.RetryAfter > 7*24*time.Hour {
					t.Errorf("RetryAfter %v", pe.RetryAfter)
				}
			},
		},
		{
			name: "absurd Retry-After date is capped too",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "Fri, 31 Dec 2100 23:59:59 GMT")
				w.WriteHeader(503)
			},
			kind: provider.ErrUnavailable, calls: 1,
			check: func(t *testing.T, pe *provider.Error) {
				if pe.RetryAfter != 7*24*time.Hour {
					t.Errorf("RetryAfter %v, want the 7-day cap", pe.RetryAfter)
				}
			},
		},
		{
			name: "garbage Retry-After ignored, hostile code sanitised",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "soon")
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"error":"bad\u0000\n\"code`+strings.Repeat("x", 100)+`"}`)
			},
			kind: provider.ErrRejected, calls: 1,
			check: func(t *testing.T, pe *provider.Error) {
				s := pe.Error()
				if pe.RetryAfter != 0 || strings.ContainsAny(s, "\x00\n\"") || strings.Contains(s, strings.Repeat("x", 70)) {
					t.Errorf("Error() = %q", s)
				}
			},
		},
		{
			name: "custom decoder",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"success":false,"message":"bad code"}`)
			},
			client: provider.Client{DecodeError: func(status int, _ http.Header, body []byte) *provider.Error {
				return &provider.Error{Code: "startgg", Kind: provider.ErrInvalidGrant}
			}},
			kind: provider.ErrInvalidGrant, calls: 1,
		},
		{
			name:    "decoder returning nil",
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) },
			client:  provider.Client{DecodeError: func(int, http.Header, []byte) *provider.Error { return nil }},
			kind:    provider.ErrUnavailable, calls: 1,
		},
		{
			name:    "unsupported param type",
			handler: func(w http.ResponseWriter, r *http.Request) {},
			req: func(u string) provider.Request {
				return provider.Request{URL: u, Params: map[string]any{"f": 1.5}}
			},
			kind: provider.ErrRejected, calls: 0,
		},
		{
			name:    "bad URL",
			handler: func(w http.ResponseWriter, r *http.Request) {},
			req:     func(string) provider.Request { return provider.Request{URL: "http://[::1"} },
			kind:    provider.ErrRejected, calls: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, calls := upstream(t, tc.handler)
			req := provider.Request{URL: s.URL, Params: map[string]any{"grant_type": "refresh_token", "refresh_token": tokenLike}}
			if tc.req != nil {
				req = tc.req(s.URL)
			}
			c := tc.client
			c.Provider = "p"
			resp, err := c.Do(context.Background(), "refresh", req)
			if resp != nil {
				t.Errorf("got a response with the error")
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Provider != "p" || pe.Op != "refresh" {
				t.Fatalf("not a labelled *provider.Error: %#v", err)
			}
			if strings.Contains(err.Error(), tokenLike) || strings.Contains(err.Error(), s.URL) {
				t.Errorf("error string leaks: %s", err)
			}
			if got := calls.Load(); got != tc.calls {
				t.Errorf("%d calls, want %d", got, tc.calls)
			}
			if tc.check != nil {
				tc.check(t, pe)
			}
		})
	}
}

func TestClientConnectionRefused(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	_, err := (&provider.Client{}).Do(context.Background(), "exchange", provider.Request{URL: u + "/token?x=secret-in-config", Params: map[string]any{}})
	if !errors.Is(err, provider.ErrUnavailable) || strings.Contains(err.Error(), "secret-in-config") {
		t.Fatalf("got %v", err)
	}
}

func TestClientExactlyMaxBody(t *testing.T) {
	t.Parallel()
	s, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("a", provider.DefaultMaxBody))
	})
	resp, err := (&provider.Client{}).Do(context.Background(), "x", provider.Request{URL: s.URL})
	if err != nil || len(resp.Body) != provider.DefaultMaxBody {
		t.Fatalf("%v", err)
	}
}

func TestErrorFormatting(t *testing.T) {
	t.Parallel()
	if s := (&provider.Error{}).Error(); s != "provider: error" {
		t.Errorf("zero Error() = %q", s)
	}
	e := &provider.Error{Provider: "w", Op: "api", Kind: provider.ErrUnauthorized, StatusCode: 401, Err: io.EOF}
	if s := e.Error(); s != "provider w: api: access token rejected HTTP 401: EOF" {
		t.Errorf("Error() = %q", s)
	}
	if !errors.Is(e, io.EOF) || !errors.Is(e, provider.ErrUnauthorized) || errors.Is(e, provider.ErrInvalidGrant) {
		t.Error("Unwrap")
	}
	if provider.RetryAfter(io.EOF) != 0 || provider.IsTransient(io.EOF) {
		t.Error("helpers on foreign errors")
	}
	if provider.KindForStatus(408) != provider.ErrUnavailable || provider.KindForStatus(404) != provider.ErrRejected {
		t.Error("KindForStatus")
	}
	if d := provider.DecodeOAuth2Error(400, nil, []byte(`{"error":42}`)); d.Code != "" || d.Kind != nil {
		t.Errorf("non-string error field: %+v", d)
	}
}

func TestPKCEAndState(t *testing.T) {
	t.Parallel()
	const n = 10000
	seen := make(map[string]bool, 2*n)
	for range n {
		v, s := provider.NewVerifier(), provider.NewState()
		if len(v) != 43 || len(s) != 43 {
			t.Fatalf("lengths %d %d, want 43", len(v), len(s))
		}
		if seen[v] || seen[s] {
			t.Fatal("duplicate verifier or state")
		}
		seen[v], seen[s] = true, true
		if b, err := base64.RawURLEncoding.DecodeString(s); err != nil || len(b) != 32 {
			t.Fatalf("state is not 256 bits of base64url: %v", err)
		}
	}
	v := provider.NewVerifier()
	sum := sha256.Sum256([]byte(v))
	if got := provider.S256Challenge(v); got != base64.RawURLEncoding.EncodeToString(sum[:]) || len(got) != 43 {
		t.Errorf("S256Challenge = %q", got)
	}
	// RFC 7636 Appendix B.
	if got := provider.S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("RFC 7636 vector: %q", got)
	}
	if strings.ContainsAny(v, "+/=") {
		t.Error("verifier is not base64url without padding")
	}
	_ = url.QueryEscape(v)
}

func TestRefreshedToken(t *testing.T) {
	t.Parallel()
	old := &provider.Token{AccessToken: "a1", RefreshToken: "r1"}
	if got := provider.RefreshedToken(old, &provider.Token{AccessToken: "a2"}); got.RefreshToken != "r1" {
		t.Error("refresh token not kept")
	}
	if got := provider.RefreshedToken(old, &provider.Token{AccessToken: "a2", RefreshToken: "r2"}); got.RefreshToken != "r2" {
		t.Error("rotated refresh token not taken")
	}
	if got := provider.RefreshedToken(nil, &provider.Token{AccessToken: "a2"}); got.RefreshToken != "" {
		t.Error("nil old")
	}
}
