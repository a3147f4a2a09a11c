package harness

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// RoundRobin is a loopback HTTP reverse proxy that sends each request to the
// next of its backends in turn, as a load balancer without session affinity
// in front of several app instances. Backends see the proxy's Host header
// (the public host) and X-Forwarded-For/-Host/-Proto; redirects and cookies
// pass through unchanged.
type RoundRobin struct {
	// Server is the proxy; its URL is what clients use.
	*httptest.Server

	backends  []*url.URL
	transport *http.Transport
	next      atomic.Uint64
	hits      []atomic.Int64
}

// NewRoundRobin starts a RoundRobin over the given backend base URLs (for
// example httptest.Server.URL values) on 127.0.0.1 and closes it in
// t.Cleanup. It needs at least one backend.
func NewRoundRobin(t testing.TB, backends ...string) *RoundRobin {
	t.Helper()
	rr, err := newRoundRobin(backends)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	rr.Server = httptest.NewServer(rr.proxy())
	t.Cleanup(rr.Close)
	return rr
}

// Close stops the proxy and drops its idle connections to the backends.
func (rr *RoundRobin) Close() {
	rr.Server.Close()
	rr.transport.CloseIdleConnections()
}

func newRoundRobin(backends []string) (*RoundRobin, error) {
	if len(backends) == 0 {
		return nil, fmt.Errorf("round-robin proxy needs at least one backend")
	}
	rr := &RoundRobin{
		hits:      make([]atomic.Int64, len(backends)),
		transport: http.DefaultTransport.(*http.Transport).Clone(),
	}
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("backend %q is not an absolute URL", b)
		}
		rr.backends = append(rr.backends, u)
	}
	return rr, nil
}

func (rr *RoundRobin) proxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport: rr.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := int((rr.next.Add(1) - 1) % uint64(len(rr.backends)))
			rr.hits[i].Add(1)
			pr.SetURL(rr.backends[i])
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "round-robin proxy: backend unreachable", http.StatusBadGateway)
		},
	}
}

// Hits returns how many requests each backend received, in the order the
// backends were given.
func (rr *RoundRobin) Hits() []int64 {
	out := make([]int64, len(rr.hits))
	for i := range rr.hits {
		out[i] = rr.hits[i].Load()
	}
	return out
}
