package middleware_test

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/middleware"
)

// readCorpus reads testdata/openredirects.txt (format described in the
// file's header).
func readCorpus(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/openredirects.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if q, ok := strings.CutPrefix(line, "q:"); ok {
			v, err := strconv.Unquote(q)
			if err != nil {
				t.Fatalf("openredirects.txt:%d: bad q: line: %v", n, err)
			}
			line = v
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func corpusApp(t testing.TB) *secApp {
	return newSecApp(t, func(c *middleware.Config) {
		c.AllowedReturnHosts = []string{"allowed.example"}
		c.LoginRateLimit = middleware.RateLimit{Failures: 1 << 20}
	})
}

// TestSecurityOpenRedirectCorpus is checklist items 38–40: every payload of
// the corpus is refused by the validator, ends at "/" after a real login
// (the callback's Location) and after a real logout, and is dropped from
// the logout confirmation page.
func TestSecurityOpenRedirectCorpus(t *testing.T) {
	corpus := readCorpus(t)
	if len(corpus) < 150 {
		t.Fatalf("corpus has %d payloads, want ≥ 150", len(corpus))
	}
	app := corpusApp(t)
	for _, p := range corpus {
		if v, ok := app.auth.ValidReturnTo(p); ok {
			t.Errorf("ValidReturnTo(%q) accepted it as %q", p, v)
		}
	}
	if t.Failed() {
		return
	}
	for i, p := range corpus {
		b := app.browser()
		b.ip = "10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250+1)
		res := app.login(b, p)
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("login with return_to %q → Location %q, want /", p, loc)
		}
		page := readBody(t, b.get("/auth/logout?return_to="+url.QueryEscape(p)))
		if !strings.Contains(page, `name="return_to" value="/"`) {
			t.Errorf("logout page with return_to %q does not fall back to /", p)
		}
		res = b.logout(p)
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("logout with return_to %q → Location %q, want /", p, loc)
		}
	}
}

// TestSecurityReturnToKept is the other side of the corpus: honest return
// paths and allowed hosts survive login unchanged.
func TestSecurityReturnToKept(t *testing.T) {
	app := corpusApp(t)
	for _, p := range []string{"/", "/a/b?c=d&e=%2F", "/path#frag", "/@user", "/caf%C3%A9", "/café", "https://allowed.example", "https://allowed.example/x?y=1#z"} {
		res := app.login(app.browser(), p)
		if loc := res.Header.Get("Location"); loc != p {
			t.Errorf("return_to %q → %q", p, loc)
		}
	}
}
