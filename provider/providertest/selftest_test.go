package providertest

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// recordT is the testing.TB the self-test hands the suite in place of a
// subtest: it records failures instead of failing, the way testing/fstest
// and testing/slogtest are tested. Fatal stops the check's goroutine like
// t.FailNow does. Everything else goes to the embedded real test.
type recordT struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msgs   []string
}

func (r *recordT) record(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, msg)
}

func (r *recordT) Helper()                   {}
func (r *recordT) Error(args ...any)         { r.record(fmt.Sprint(args...)) }
func (r *recordT) Errorf(f string, a ...any) { r.record(fmt.Sprintf(f, a...)) }
func (r *recordT) Fatal(args ...any)         { r.record(fmt.Sprint(args...)); runtime.Goexit() }
func (r *recordT) Fatalf(f string, a ...any) { r.record(fmt.Sprintf(f, a...)); runtime.Goexit() }
func (r *recordT) Fail()                     { r.record("Fail") }
func (r *recordT) FailNow()                  { r.record("FailNow"); runtime.Goexit() }

func (r *recordT) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recordT) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// runRecorded runs suite (runRedirect or runPassword with its harness)
// with every check reporting to a recorder, each check still a real
// subtest of t (for the fixture's cleanups), and returns the failures as
// "check: message".
func runRecorded(t *testing.T, suite func(top testing.TB, run runner)) []string {
	t.Helper()
	all := &recordT{TB: t}
	run := func(name string, c check) {
		t.Run(name, func(st *testing.T) {
			r := &recordT{TB: st}
			inGoroutine(func() { c(st, r) })
			for _, m := range r.failures() {
				all.record(name + ": " + m)
			}
		})
	}
	inGoroutine(func() { suite(all, run) })
	return all.failures()
}

// inGoroutine runs f on its own goroutine, so that a recorder's Fatal
// (runtime.Goexit) ends f only.
func inGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func redirectHarness(brk broken) RedirectHarness {
	return RedirectHarness{
		New: func(t *testing.T, env *Env) RedirectFixture {
			as := newFakeAS()
			t.Cleanup(as.srv.Close)
			return RedirectFixture{
				Provider:  newRefAdapter(as.srv.URL, env.Client(as.srv.Client()), env.Logger, brk),
				Authorize: as.Authorize,
				Fail:      as.Fail,
			}
		},
		RedirectURL:         fakeRedirect,
		Identity:            fakeIdentity,
		Scopes:              []string{"openid", "profile"},
		ClientSecret:        fakeSecret,
		RotatesRefreshToken: true,
	}
}

func passwordHarness(brk broken) PasswordHarness {
	return PasswordHarness{
		New: func(t *testing.T, env *Env) PasswordFixture {
			as := newFakeAS()
			t.Cleanup(as.srv.Close)
			return PasswordFixture{Provider: newRefAdapter(as.srv.URL, env.Client(as.srv.Client()), env.Logger, brk), Fail: as.Fail}
		},
		Username:            fakeUser,
		Password:            fakePassword,
		Identity:            fakeIdentity,
		ClientSecret:        fakeSecret,
		RotatesRefreshToken: true,
	}
}

// TestSuiteFailsBrokenRedirectAdapters: the reference adapter passes
// RunRedirect's checks; each deliberately broken variant (or harness that
// contradicts the adapter) makes them fail, with a message that names the
// fault. An expected message empty means: no failure at all.
func TestSuiteFailsBrokenRedirectAdapters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenBroken  broken
		givenHarness func(*RedirectHarness)
		expectFail   string // a substring of one failure; "" for a pass
	}{
		{name: "reference adapter passes"},
		{name: "secret in a URL", givenBroken: secretInTokenURL, expectFail: "the client secret appears in the URL of a request"},
		{name: "token in a URL", givenBroken: tokenInUserinfoURL, expectFail: "the access token appears in the URL of a request"},
		{name: "wrong identity mapping", givenBroken: subjectFromEmail, expectFail: `Identity.Subject = "ada@example.test", want "user-1"`},
		{name: "identity drops mapped fields", givenBroken: identityDropsFields, expectFail: `Identity.Email = "", want "ada@example.test"`},
		{name: "refresh drops the new refresh token", givenBroken: dropsNewRefresh, expectFail: "does not carry the new one"},
		{name: "refresh token not from the upstream", givenBroken: inventsRefresh, expectFail: "not the one the upstream sent"},
		{name: "revoke to the wrong path", givenBroken: revokeWrongPath, expectFail: "/oauth/revoke and the upstream answered 404: wrong endpoint"},
		{name: "revoke sends nothing", givenBroken: revokeNothing, expectFail: "Revoke sent no request"},
		{name: "revoke although the upstream has none", givenHarness: func(h *RedirectHarness) { h.NoRevocation = true },
			expectFail: "although the upstream has no revocation"},
		{name: "token in the revoke path", givenBroken: revokeByPath, expectFail: "the access token appears in the URL of a request the adapter sent: DELETE"},
		{name: "token in the revoke path, allowed", givenBroken: revokeByPath, givenHarness: func(h *RedirectHarness) { h.TokenInRevokePath = true }},
		{name: "no PKCE", givenBroken: noPKCE, expectFail: "code_verifier"},
		{name: "token printed in an error", givenBroken: tokenInError, expectFail: "the refresh token appears in an error string"},
		{name: "token in a log line", givenBroken: tokenInLog, expectFail: "the access token appears in the adapter's log output"},
		{name: "requests bypass Env.Client", givenBroken: ownHTTPClient, expectFail: "sent no request through Env.Client"},
		{name: "Params override the flow", givenBroken: paramsOverride, expectFail: "AuthRequest.Params overrode state"},
		{name: "inbound credential kept", givenBroken: keepsInboundHeader, expectFail: "SetCredential kept the inbound X-Auth-Token header"},
		{name: "untyped errors", givenBroken: untypedErrors, expectFail: "unknown refresh token: got"},
		{name: "harness names the wrong user", givenHarness: func(h *RedirectHarness) { h.Identity.Subject = "user-2" },
			expectFail: `Identity.Subject = "user-1", want "user-2"`},
		{name: "harness says no rotation", givenHarness: func(h *RedirectHarness) { h.RotatesRefreshToken = false },
			expectFail: "lost or changed the refresh token"},
		{name: "harness without identity", givenHarness: func(h *RedirectHarness) { h.Identity = provider.Identity{} },
			expectFail: "Identity.Subject are required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := redirectHarness(tc.givenBroken)
			if tc.givenHarness != nil {
				tc.givenHarness(&h)
			}
			got := runRecorded(t, func(top testing.TB, run runner) { runRedirect(top, h, run) })
			expectFailures(t, got, tc.expectFail)
		})
	}
}

// TestSuiteFailsBrokenPasswordAdapters is the same for RunPassword.
func TestSuiteFailsBrokenPasswordAdapters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenBroken  broken
		givenHarness func(*PasswordHarness)
		expectFail   string
	}{
		{name: "reference adapter passes"},
		{name: "password in a URL", givenBroken: passwordInURL, expectFail: "the password appears in the URL of a request"},
		{name: "secret in a URL", givenBroken: secretInTokenURL, expectFail: "the client secret appears in the URL of a request"},
		{name: "wrong identity mapping", givenBroken: subjectFromEmail, expectFail: `Identity.Subject = "ada@example.test"`},
		{name: "refresh drops the new refresh token", givenBroken: dropsNewRefresh, expectFail: "does not carry the new one"},
		{name: "token printed in an error", givenBroken: tokenInError, expectFail: "appears in an error string"},
		{name: "revoke sends nothing", givenBroken: revokeNothing, expectFail: "Revoke sent no request"},
		{name: "token in the revoke path", givenBroken: revokeByPath, expectFail: "the access token appears in the URL"},
		{name: "token in the revoke path, allowed", givenBroken: revokeByPath, givenHarness: func(h *PasswordHarness) { h.TokenInRevokePath = true }},
		{name: "requests bypass Env.Client", givenBroken: ownHTTPClient, expectFail: "Login sent no request through Env.Client"},
		{name: "harness without identity", givenHarness: func(h *PasswordHarness) { h.Identity = provider.Identity{} },
			expectFail: "Identity.Subject are required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := passwordHarness(tc.givenBroken)
			if tc.givenHarness != nil {
				tc.givenHarness(&h)
			}
			got := runRecorded(t, func(top testing.TB, run runner) { runPassword(top, h, run) })
			expectFailures(t, got, tc.expectFail)
		})
	}
}

// expectFailures checks the recorded failures: none when want is empty,
// else at least one containing want.
func expectFailures(t *testing.T, got []string, want string) {
	t.Helper()
	if want == "" {
		if len(got) > 0 {
			t.Fatalf("the suite failed the reference adapter:\n%s", strings.Join(got, "\n"))
		}
		return
	}
	for _, g := range got {
		if strings.Contains(g, want) {
			return
		}
	}
	t.Fatalf("the suite did not fail with %q; failures:\n%s", want, strings.Join(got, "\n"))
}

// TestRunReferenceAdapter runs the public entry points, as an adapter's
// own TestConformance does, against the reference adapter.
func TestRunReferenceAdapter(t *testing.T) {
	t.Parallel()
	t.Run("RunRedirect", func(t *testing.T) {
		t.Parallel()
		RunRedirect(t, redirectHarness(""))
	})
	t.Run("RunPassword", func(t *testing.T) {
		t.Parallel()
		RunPassword(t, passwordHarness(""))
	})
}

// TestSentParam: the recorder reads a body parameter from form and JSON
// bodies only.
func TestSentParam(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		givenType   string
		givenBody   string
		expectValue string
		expectOK    bool
	}{
		{"form", "application/x-www-form-urlencoded", "code_verifier=abc&code=x", "abc", true},
		{"form with charset", "application/x-www-form-urlencoded; charset=utf-8", "code_verifier=abc", "abc", true},
		{"form without it", "application/x-www-form-urlencoded", "code=x", "", false},
		{"broken form", "application/x-www-form-urlencoded", "code_verifier=%zz", "", false},
		{"json", "application/json", `{"code_verifier":"abc"}`, "abc", true},
		{"json, not a string", "application/json", `{"code_verifier":1}`, "", false},
		{"broken json", "application/json", `{"code_verifier"`, "", false},
		{"other type", "text/plain", "code_verifier=abc", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &sent{ctype: tc.givenType, body: []byte(tc.givenBody)}
			v, ok := s.param("code_verifier")
			if v != tc.expectValue || ok != tc.expectOK {
				t.Errorf("param = %q, %v; want %q, %v", v, ok, tc.expectValue, tc.expectOK)
			}
		})
	}
}
