package harness

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestRoundRobin_SpreadsRequestsInTurn(t *testing.T) {
	GoroutineBaseline(t)
	var backends []string
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("b%d", i)
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend", name)
			w.Header().Set("X-Seen-Host", r.Host)
			w.Header().Set("X-Seen-Forwarded-For", r.Header.Get("X-Forwarded-For"))
			http.SetCookie(w, &http.Cookie{Name: "from", Value: name, Path: "/"})
			if r.URL.Path == "/redirect" {
				http.Redirect(w, r, "/elsewhere?x=1", http.StatusFound)
				return
			}
			_, _ = io.WriteString(w, name+" "+r.URL.RequestURI())
		}))
		t.Cleanup(s.Close)
		backends = append(backends, s.URL)
	}
	rr := NewRoundRobin(t, backends...)
	client := rr.Client()
	t.Cleanup(client.CloseIdleConnections)
	proxyHost := mustHost(t, rr.URL)

	var order []string
	for i := 0; i < 9; i++ {
		resp, err := client.Get(rr.URL + "/page?q=" + fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		b := resp.Header.Get("X-Backend")
		order = append(order, b)
		if want := fmt.Sprintf("%s /page?q=%d", b, i); string(body) != want {
			t.Errorf("body %q, want %q", body, want)
		}
		if h := resp.Header.Get("X-Seen-Host"); h != proxyHost {
			t.Errorf("backend saw Host %q, want the proxy's %q", h, proxyHost)
		}
		if resp.Header.Get("X-Seen-Forwarded-For") == "" {
			t.Error("backend saw no X-Forwarded-For")
		}
		if c := resp.Cookies(); len(c) != 1 || c[0].Value != b {
			t.Errorf("Set-Cookie not passed through: %v", c)
		}
	}
	for i, b := range order {
		if want := fmt.Sprintf("b%d", i%3); b != want {
			t.Fatalf("request %d went to %s, want %s (order %v)", i, b, want, order)
		}
	}
	if h := rr.Hits(); h[0] != 3 || h[1] != 3 || h[2] != 3 {
		t.Fatalf("Hits = %v, want [3 3 3]", h)
	}

	// Redirects reach the client unchanged (it decides to follow).
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(rr.URL + "/redirect")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere?x=1" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRoundRobin_BackendDown(t *testing.T) {
	GoroutineBaseline(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "up") }))
	t.Cleanup(up.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	rr := NewRoundRobin(t, up.URL, downURL)
	t.Cleanup(rr.Client().CloseIdleConnections)
	var statuses []int
	for i := 0; i < 2; i++ {
		resp, err := rr.Client().Get(rr.URL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	if statuses[0] != http.StatusOK || statuses[1] != http.StatusBadGateway {
		t.Fatalf("statuses %v, want [200 502]", statuses)
	}
}

func TestRoundRobin_RejectsBadBackends(t *testing.T) {
	if _, err := newRoundRobin(nil); err == nil {
		t.Error("no backends accepted")
	}
	if _, err := newRoundRobin([]string{"/relative"}); err == nil {
		t.Error("relative backend URL accepted")
	}
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
