package wazo_test

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
)

const (
	testUser     = "alice"
	testPassword = "pa55:wörd-S3CRET"
	testClient   = "gatehouse-test"
)

func newClock() *wazotest.Clock {
	return wazotest.NewClock(time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC))
}

// sent is one outbound request as the adapter sent it.
type sent struct {
	Method, URL string
	Header      http.Header
	Body        []byte
}

// recorder is a RoundTripper that keeps every request the adapter sends.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, sent{req.Method, req.URL.String(), req.Header.Clone(), body})
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

func (r *recorder) all() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.reqs...)
}

func (r *recorder) last(t *testing.T) sent {
	t.Helper()
	all := r.all()
	if len(all) == 0 {
		t.Fatal("no request sent")
	}
	return all[len(all)-1]
}

// env is a fake wazo-auth plus an adapter pointed at it.
type env struct {
	srv   *wazotest.Server
	p     *wazo.Provider
	rec   *recorder
	clock *wazotest.Clock
}

// newEnv starts a fake with one user and returns an adapter for it.
// mutate, when non-nil, edits the adapter config.
func newEnv(t *testing.T, scfg wazotest.Config, mutate func(*wazo.Config)) *env {
	t.Helper()
	c := newClock()
	if scfg.Now == nil {
		scfg.Now = c.Now
	}
	if scfg.Users == nil {
		scfg.Users = []wazotest.User{{Username: testUser, Password: testPassword, Email: "alice@example.test"}}
	}
	srv := wazotest.NewServer(scfg)
	t.Cleanup(srv.Close)
	rec := &recorder{base: srv.Client().Transport}
	cfg := wazo.Config{
		BaseURL:    srv.URL,
		ClientID:   testClient,
		HTTPClient: &http.Client{Transport: rec},
		Now:        c.Now,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := wazo.New(cfg)
	if err != nil {
		t.Fatalf("wazo.New: %v", err)
	}
	return &env{srv: srv, p: p, rec: rec, clock: c}
}
