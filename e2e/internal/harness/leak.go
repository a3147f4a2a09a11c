package harness

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// MinSecretLen is the shortest secret Plant accepts: shorter values would
// match by accident.
const MinSecretLen = 8

// Leak is one place a planted secret was found.
type Leak struct {
	// Secret is the label given to Plant (never the value).
	Secret string
	// Encoding is how it appeared: "plain", "query", "path", "json",
	// "base64", "base64url".
	Encoding string
	// Where says what was scanned, e.g. "GET /auth/x/callback response
	// body" or "log line 3".
	Where string
}

func (l Leak) String() string {
	return fmt.Sprintf("secret %q (%s) in %s", l.Secret, l.Encoding, l.Where)
}

// LeakScanner holds planted secrets (client secret, password, tokens, PKCE
// verifier, state…) and finds them, in clear or in the usual encodings
// (URL query and path escaping, JSON string escaping, standard and URL-safe
// base64), in whatever a test feeds it: strings, URLs, headers, HTTP
// responses, log lines. Found leaks accumulate until [LeakScanner.Leaks] or
// [LeakScanner.AssertNone] reads them. Leak reports name the secret's label,
// never its value. It is safe for concurrent use.
type LeakScanner struct {
	mu       sync.Mutex
	secrets  []planted
	leaks    []Leak
	recorded []recordedText // traffic kept by Transport
}

type recordedText struct{ where, text string }

type planted struct {
	label string
	forms []form
}

type form struct{ encoding, value string }

// NewLeakScanner returns a scanner with no secrets planted.
func NewLeakScanner() *LeakScanner { return &LeakScanner{} }

// Plant registers value under label. It panics when value is shorter than
// MinSecretLen, which is a bug in the test.
func (s *LeakScanner) Plant(label, value string) {
	if len(value) < MinSecretLen {
		panic(fmt.Sprintf("harness: planted secret %q is shorter than %d bytes", label, MinSecretLen))
	}
	p := planted{label: label}
	seen := map[string]bool{}
	add := func(enc, v string) {
		if len(v) >= MinSecretLen && !seen[v] {
			seen[v] = true
			p.forms = append(p.forms, form{enc, v})
		}
	}
	add("plain", value)
	add("query", url.QueryEscape(value))
	add("path", url.PathEscape(value))
	if b, err := json.Marshal(value); err == nil {
		add("json", string(b[1:len(b)-1]))
	}
	add("base64", strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(value)), "="))
	add("base64url", base64.RawURLEncoding.EncodeToString([]byte(value)))
	s.mu.Lock()
	s.secrets = append(s.secrets, p)
	s.mu.Unlock()
}

// Labels returns the planted labels, sorted.
func (s *LeakScanner) Labels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.secrets))
	for _, p := range s.secrets {
		out = append(out, p.label)
	}
	sort.Strings(out)
	return out
}

// find returns the leaks of text without recording them.
func (s *LeakScanner) find(where, text string) []Leak {
	if text == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Leak
	for _, p := range s.secrets {
		for _, f := range p.forms {
			if strings.Contains(text, f.value) {
				out = append(out, Leak{Secret: p.label, Encoding: f.encoding, Where: where})
				break
			}
		}
	}
	return out
}

func (s *LeakScanner) record(ls []Leak) []Leak {
	if len(ls) > 0 {
		s.mu.Lock()
		s.leaks = append(s.leaks, ls...)
		s.mu.Unlock()
	}
	return ls
}

// ScanString looks for the secrets in text and records what it finds under
// where. It returns the new leaks.
func (s *LeakScanner) ScanString(where, text string) []Leak {
	return s.record(s.find(where, text))
}

// ScanError scans err's message (nil is clean).
func (s *LeakScanner) ScanError(where string, err error) []Leak {
	if err == nil {
		return nil
	}
	return s.ScanString(where+" error", err.Error())
}

// ScanURL scans a URL in its raw and decoded forms.
func (s *LeakScanner) ScanURL(where string, u *url.URL) []Leak {
	if u == nil {
		return nil
	}
	return s.ScanString(where+" URL", urlText(u))
}

// ScanHeader scans every header name and value.
func (s *LeakScanner) ScanHeader(where string, h http.Header) []Leak {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return s.ScanString(where+" header", b.String())
}

// ScanResponse scans what a browser or API client receives: the request
// URL it used, the response status line, headers (Location and Set-Cookie
// included) and body.
func (s *LeakScanner) ScanResponse(resp *http.Response, body []byte) []Leak {
	where := "response"
	var out []Leak
	if resp.Request != nil && resp.Request.URL != nil {
		where = resp.Request.Method + " " + resp.Request.URL.Path + " response"
		out = append(out, s.ScanURL(resp.Request.Method+" request", resp.Request.URL)...)
	}
	out = append(out, s.ScanString(where+" status", resp.Status)...)
	out = append(out, s.ScanHeader(where, resp.Header)...)
	out = append(out, s.ScanString(where+" body", string(body))...)
	return out
}

// ScanLogs scans every line captured so far.
func (s *LeakScanner) ScanLogs(c *LogCapture) []Leak {
	var out []Leak
	for i, l := range c.Lines() {
		out = append(out, s.ScanString(fmt.Sprintf("log line %d", i+1), l)...)
	}
	return out
}

// Transport wraps base (nil: http.DefaultTransport) so that every request
// URL and every response (status, headers and body) passing through is
// kept and scanned when Leaks or AssertNone is called, against every secret
// planted by then: a secret that only becomes known in the middle of a flow
// (a token, a PKCE verifier) still counts for the responses before it.
// Give it to the *http.Client that plays the browser or API client; keep
// the upstream calls, where secrets belong, on other clients.
func (s *LeakScanner) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &scanTransport{s: s, base: base}
}

type scanTransport struct {
	s    *LeakScanner
	base http.RoundTripper
}

func (t *scanTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	method := req.Method
	t.s.keep(method+" request URL", urlText(req.URL))
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	where := method + " " + req.URL.Path + " response"
	var hdr strings.Builder
	for k, vs := range resp.Header {
		for _, v := range vs {
			hdr.WriteString(k + ": " + v + "\n")
		}
	}
	t.s.keep(where+" status", resp.Status)
	t.s.keep(where+" header", hdr.String())
	t.s.keep(where+" body", string(body))
	if rerr != nil {
		return nil, rerr
	}
	return resp, nil
}

func (s *LeakScanner) keep(where, text string) {
	if text == "" {
		return
	}
	s.mu.Lock()
	s.recorded = append(s.recorded, recordedText{where, text})
	s.mu.Unlock()
}

func urlText(u *url.URL) string {
	text := u.String()
	if dec, err := url.QueryUnescape(text); err == nil {
		text += "\n" + dec
	}
	return text
}

// Leaks returns every leak found so far: those the Scan methods recorded,
// then those in the traffic kept by Transport.
func (s *LeakScanner) Leaks() []Leak {
	s.mu.Lock()
	out := append([]Leak(nil), s.leaks...)
	recorded := append([]recordedText(nil), s.recorded...)
	s.mu.Unlock()
	for _, r := range recorded {
		out = append(out, s.find(r.where, r.text)...)
	}
	return out
}

// AssertNone fails t with one line per recorded leak.
func (s *LeakScanner) AssertNone(t testing.TB) {
	t.Helper()
	for _, l := range s.Leaks() {
		t.Errorf("leak: %s", l)
	}
}
