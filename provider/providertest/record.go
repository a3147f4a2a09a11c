package providertest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Env is what the suite hands a harness's New for one check: a logger and
// an HTTP client, both of which the adapter must use so that the suite
// sees everything the adapter logs and every request it sends upstream.
type Env struct {
	// Logger captures the adapter's log output; a secret in it fails the
	// check. Give it to the adapter (its Config.Logger, say). Adapters
	// that log nothing may ignore it.
	Logger *slog.Logger

	rec *recorder
}

// Client returns a copy of base (nil means a client with
// http.DefaultTransport) whose transport records every request before
// base's transport sends it, and the reply as the adapter reads it. Give
// it to the adapter as its HTTP client, for example
//
//	cfg.HTTPClient = env.Client(fake.Client())
//
// The suite then checks what the fake upstream receives: no client
// secret, token, code, PKCE verifier or password in any URL; the PKCE
// verifier in the body of the code exchange; revocation requests that the
// upstream accepts. A check fails when the adapter sends none of the
// requests the operation needs through this client.
func (e *Env) Client(base *http.Client) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &recordingTransport{rec: e.rec, next: next}
	return c
}

// sent is one request the adapter sent, and what it read of the reply.
type sent struct {
	phase  string // the adapter method being checked ("revoke", …)
	method string
	url    *url.URL
	ctype  string
	body   []byte
	status int // 0: no reply
	reply  *lockedBuffer
}

// param returns the body parameter k of a form or JSON body, and whether
// the body holds it.
func (s *sent) param(k string) (string, bool) {
	mt, _, _ := mime.ParseMediaType(s.ctype)
	switch {
	case mt == "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(s.body))
		if err != nil || !v.Has(k) {
			return "", false
		}
		return v.Get(k), true
	case strings.HasSuffix(mt, "json"):
		var m map[string]any
		if json.Unmarshal(s.body, &m) != nil {
			return "", false
		}
		v, ok := m[k].(string)
		return v, ok
	}
	return "", false
}

// recorder keeps every request of one check.
type recorder struct {
	mu    sync.Mutex
	phase string
	all   []*sent
}

// mark starts a phase and returns the index of its first request.
func (r *recorder) mark(phase string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phase = phase
	return len(r.all)
}

// since returns the requests recorded from index i on.
func (r *recorder) since(i int) []*sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*sent(nil), r.all[i:]...)
}

func (r *recorder) add(s *sent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.phase = r.phase
	r.all = append(r.all, s)
}

// maxRecordedBody bounds what the recorder keeps of one request or reply
// body (the adapters' own limit is 1 MiB).
const maxRecordedBody = 2 << 20

type recordingTransport struct {
	rec  *recorder
	next http.RoundTripper
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s := &sent{method: req.Method, url: cloneURL(req.URL), ctype: req.Header.Get("Content-Type"), reply: &lockedBuffer{}}
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxRecordedBody))
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		s.body = b
		// RoundTrippers must not modify the request: send a clone.
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
	}
	t.rec.add(s)
	res, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	s.status = res.StatusCode
	res.Body = &teeBody{ReadCloser: res.Body, into: s.reply}
	return res, nil
}

func cloneURL(u *url.URL) *url.URL {
	c := *u
	if u.User != nil {
		user := *u.User
		c.User = &user
	}
	return &c
}

// teeBody copies what the adapter reads of a reply into a buffer.
type teeBody struct {
	io.ReadCloser
	into *lockedBuffer
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.into.writeCapped(p[:n], maxRecordedBody)
	}
	return n, err
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) writeCapped(p []byte, max int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := max - l.b.Len(); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		l.b.Write(p)
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// urlForms are the forms of a request URL a secret may hide in: as sent,
// and with the path and query unescaped.
func urlForms(u *url.URL) []string {
	forms := []string{u.String(), u.Path}
	if q, err := url.QueryUnescape(u.RawQuery); err == nil {
		forms = append(forms, q)
	}
	if p, err := url.PathUnescape(u.EscapedPath()); err == nil {
		forms = append(forms, p)
	}
	return forms
}
