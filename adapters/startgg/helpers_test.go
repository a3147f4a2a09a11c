package startgg_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
)

// Test credentials. The secret and the tokens must never show up in error
// strings, URLs or logs.
const (
	testClientID = "4242"
	testSecret   = "s3cr3t-client-secret-value"
	testRedirect = "https://app.example/auth/startgg/callback"
)

// canned is one reply of a stubUpstream route.
type canned struct {
	status int
	body   string
	header http.Header
}

// seen is one request a stubUpstream received.
type seen struct {
	Method, Path, ContentType, Authorization, RawQuery string
	Raw                                                []byte
	// JSON is the body decoded with UseNumber (nil if it was not JSON).
	JSON map[string]any
}

// stubUpstream answers canned replies per path and records every request.
type stubUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	routes map[string][]canned // path → replies, the last one repeats
	reqs   []seen
}

func newStub(t *testing.T, routes map[string][]canned) *stubUpstream {
	t.Helper()
	s := &stubUpstream{routes: routes}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *stubUpstream) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := seen{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
		Authorization: r.Header.Get("Authorization"), RawQuery: r.URL.RawQuery, Raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) == nil {
		rec.JSON = m
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	list := s.routes[r.URL.Path]
	var c canned
	switch len(list) {
	case 0:
		c = canned{status: http.StatusNotFound, body: `{"success":false,"message":"not found"}`}
	case 1:
		c = list[0]
	default:
		c = list[0]
		s.routes[r.URL.Path] = list[1:]
	}
	s.mu.Unlock()
	for k, v := range c.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	if c.status == 0 {
		c.status = http.StatusOK
	}
	w.WriteHeader(c.status)
	_, _ = io.WriteString(w, c.body)
}

func (s *stubUpstream) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// newAdapter builds an adapter whose token, refresh and API endpoints are
// the stub, with a fixed clock.
func newAdapter(t *testing.T, stub *stubUpstream, mutate ...func(*startgg.Config)) *startgg.Adapter {
	t.Helper()
	cfg := startgg.Config{
		ClientID:     testClientID,
		ClientSecret: testSecret,
		RedirectURL:  testRedirect,
		AuthBaseURL:  "https://start.gg",
		APIBaseURL:   stub.URL,
		Now:          fixedNow,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	a, err := startgg.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

var testEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return testEpoch }

const tokenReply = `{"access_token":"at-1","token_type":"Bearer","expires_in":604800,"refresh_token":"rt-1"}`
