package wazotest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, cfg Config) (*Server, *Clock) {
	t.Helper()
	c := NewClock(time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC))
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	return s, c
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request; basic is "user:pass" or "".
func do(t *testing.T, s *Server, method, path, basic, body string, hdr map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	if basic != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(basic)))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func data(r reply) map[string]any { d, _ := r.body["data"].(map[string]any); return d }

const alice = "alice:alice-password"

func TestTokenSchemaValidation(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	for _, tc := range []struct {
		body   string
		status int
		reason string
	}{
		{`{}`, 200, ""},
		{`null`, 200, ""},
		{`{"expiration":1}`, 200, ""},
		{`{"expiration":315360000}`, 200, ""},
		{`{"backend":"wazo_user","unknown":1}`, 200, ""},
		{``, 400, badRequest},
		{`not json`, 400, badRequest},
		{`{} {}`, 400, badRequest},
		{`[]`, 400, `{'_schema': ['Invalid input type.']}`},
		{`{"expiration":0}`, 400, `{'expiration': ['Must be greater than or equal to 1 and less than or equal to 315360000.']}`},
		{`{"expiration":315360001}`, 400, `{'expiration': ['Must be greater than or equal to 1 and less than or equal to 315360000.']}`},
		{`{"expiration":true}`, 400, `{'expiration': ['Not a valid integer.']}`},
		{`{"expiration":"3600"}`, 400, `{'expiration': ['Not a valid integer.']}`},
		{`{"expiration":3600.5}`, 400, `{'expiration': ['Not a valid integer.']}`},
		{`{"expiration":null}`, 400, `{'expiration': ['Field may not be null.']}`},
		{`{"access_type":"forever"}`, 400, `{'access_type': ['Must be one of: online, offline.']}`},
		{`{"access_type":"offline"}`, 400, ""},
		{`{"access_type":"offline","client_id":""}`, 400, `{'client_id': ['Length must be between 1 and 1024.']}`},
		{`{"access_type":"offline","client_id":"a","refresh_token":"x"}`, 400, ""},
		{`{"refresh_token":"x"}`, 400, ""},
		{`{"tenant_id":"a","domain_name":"b"}`, 400, ""},
		{`{"expiration":0,"access_type":"bad"}`, 400, `{'expiration': ['Must be greater than or equal to 1 and less than or equal to 315360000.'], 'access_type': ['Must be one of: online, offline.']}`},
	} {
		r := do(t, s, "POST", "/token", alice, tc.body, map[string]string{"Content-Type": "application/json"})
		if r.status != tc.status {
			t.Errorf("body %s: HTTP %d (%s), want %d", tc.body, r.status, r.raw, tc.status)
			continue
		}
		if tc.status == 400 {
			reasons, _ := r.body["reason"].([]any)
			ts, _ := r.body["timestamp"].([]any)
			if len(reasons) != 1 || len(ts) != 1 || r.body["status_code"] != float64(400) {
				t.Errorf("body %s: error shape %s", tc.body, r.raw)
			} else if tc.reason != "" && reasons[0] != tc.reason {
				t.Errorf("body %s: reason %q, want %q", tc.body, reasons[0], tc.reason)
			}
		}
	}
}

var (
	utcRE   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)
	naiveRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$`)
)

func TestTokenReplyFieldsAndTimeFormats(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Config{Location: time.FixedZone("EST", -5*3600)})
	u, _ := s.User("alice")
	r := do(t, s, "POST", "/token", alice, `{"expiration":60}`, map[string]string{"User-Agent": "ua/1.0"})
	d := data(r)
	if r.status != 200 || d == nil {
		t.Fatalf("HTTP %d %s", r.status, r.raw)
	}
	for _, k := range []string{"token", "auth_id", "xivo_user_uuid", "xivo_uuid", "issued_at", "expires_at", "utc_issued_at",
		"utc_expires_at", "acl", "metadata", "session_uuid", "remote_addr", "user_agent"} {
		if _, ok := d[k]; !ok {
			t.Errorf("reply lacks %s", k)
		}
	}
	if _, ok := d["refresh_token"]; ok {
		t.Error("online login has a refresh_token")
	}
	if r.header.Get("Wazo-Sessions-Revoked") != "0" {
		t.Errorf("Wazo-Sessions-Revoked = %q", r.header.Get("Wazo-Sessions-Revoked"))
	}
	// Zero microseconds: the naive local ones drop the fraction, utc_* keep six digits.
	if d["issued_at"] != "2026-05-05T05:00:00" || d["expires_at"] != "2026-05-05T05:01:00" ||
		d["utc_issued_at"] != "2026-05-05T10:00:00.000000" || d["utc_expires_at"] != "2026-05-05T10:01:00.000000" {
		t.Errorf("times: %v %v %v %v", d["issued_at"], d["expires_at"], d["utc_issued_at"], d["utc_expires_at"])
	}
	meta, _ := d["metadata"].(map[string]any)
	if d["auth_id"] != u.UUID || meta["uuid"] != u.UUID || meta["tenant_uuid"] != u.TenantUUID || meta["purpose"] != "user" ||
		d["user_agent"] != "ua/1.0" || d["remote_addr"] != "127.0.0.1" {
		t.Errorf("identity fields: %v", d)
	}
	if !uuidRE.MatchString(d["token"].(string)) || !uuidRE.MatchString(d["session_uuid"].(string)) {
		t.Error("token or session is not a UUID")
	}
	clock.Advance(123456789)
	d = data(do(t, s, "POST", "/token", alice, `{}`, nil))
	if d["issued_at"] != "2026-05-05T05:00:00.123456" || d["utc_expires_at"] != "2026-05-05T12:00:00.123456" {
		t.Errorf("fractions: %v %v", d["issued_at"], d["utc_expires_at"])
	}
	for _, k := range []string{"issued_at", "expires_at"} {
		if !naiveRE.MatchString(d[k].(string)) {
			t.Errorf("%s = %v", k, d[k])
		}
	}
	for _, k := range []string{"utc_issued_at", "utc_expires_at"} {
		if !utcRE.MatchString(d[k].(string)) {
			t.Errorf("%s = %v", k, d[k])
		}
	}
}

func TestOfflineRefreshTokenPerUserAndClient(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	off := func(client string) string {
		d := data(do(t, s, "POST", "/token", alice, `{"access_type":"offline","client_id":"`+client+`"}`, nil))
		rt, _ := d["refresh_token"].(string)
		return rt
	}
	a1, a2, b := off("app-a"), off("app-a"), off("app-b")
	if a1 == "" || a1 != a2 || a1 == b || !uuidRE.MatchString(a1) {
		t.Fatalf("refresh tokens: %q %q %q", a1, a2, b)
	}
	r := do(t, s, "POST", "/token", "", `{"refresh_token":"`+a1+`","client_id":"app-a","expiration":30}`, nil)
	if d := data(r); r.status != 200 || d["refresh_token"] != nil || d["token"] == nil {
		t.Fatalf("refresh: HTTP %d %s", r.status, r.raw)
	}
	for _, tc := range []struct{ body, basic string }{
		{`{"refresh_token":"` + a1 + `","client_id":"app-b"}`, ""},
		{`{"refresh_token":"` + NewUUID() + `","client_id":"app-a"}`, ""},
		{`{"refresh_token":"` + a1 + `","client_id":"app-b"}`, alice}, // refresh token checked before the password
		{`{}`, "alice:wrong"},
		{`{}`, ""},
	} {
		r := do(t, s, "POST", "/token", tc.basic, tc.body, nil)
		if reasons, _ := r.body["reason"].([]any); r.status != 401 || len(reasons) != 1 || reasons[0] != "Authentication Failed" {
			t.Errorf("%s: HTTP %d %s, want 401 Authentication Failed", tc.body, r.status, r.raw)
		}
	}
	// The list endpoint shows both refresh tokens, unwrapped.
	tok := data(do(t, s, "POST", "/token", alice, `{}`, nil))["token"].(string)
	l := do(t, s, "GET", "/users/me/tokens?order=client_id&direction=desc&limit=1", "", "", map[string]string{"X-Auth-Token": tok})
	items, _ := l.body["items"].([]any)
	if l.status != 200 || l.body["total"] != float64(2) || l.body["filtered"] != float64(2) || len(items) != 1 {
		t.Fatalf("list: %d %s", l.status, l.raw)
	}
	if it := items[0].(map[string]any); it["client_id"] != "app-b" || !strings.HasSuffix(it["created_at"].(string), "+00:00") {
		t.Errorf("item = %v", it)
	}
	if l := do(t, s, "GET", "/users/me/tokens?limit=-1", "", "", map[string]string{"X-Auth-Token": tok}); l.status != 400 || l.body["error_id"] != "invalid-list-param" {
		t.Errorf("bad limit: %d %s", l.status, l.raw)
	}
	// Deleting an unknown client's refresh token: 404 APIError.
	d := do(t, s, "DELETE", "/users/me/tokens/nope", "", "", map[string]string{"X-Auth-Token": tok})
	if d.status != 404 || d.body["error_id"] != "cannot-find-refresh-token-matching-client-id" || d.body["resource"] != "tokens" {
		t.Errorf("delete unknown: %d %s", d.status, d.raw)
	}
}

func TestMobileLoginRevokesOtherMobileSessions(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	mobile := map[string]string{"Wazo-Session-Type": "mobile"}
	first := data(do(t, s, "POST", "/token", alice, `{"access_type":"offline","client_id":"phone-1"}`, mobile))
	r := do(t, s, "POST", "/token", "", `{"refresh_token":"`+first["refresh_token"].(string)+`","client_id":"phone-1"}`, nil)
	if r.status != 200 {
		t.Fatal(r.raw)
	}
	second := do(t, s, "POST", "/token", alice, `{"access_type":"offline","client_id":"phone-2"}`, mobile)
	if second.header.Get("Wazo-Sessions-Revoked") != "2" {
		t.Errorf("Wazo-Sessions-Revoked = %q, want 2", second.header.Get("Wazo-Sessions-Revoked"))
	}
	u, _ := s.User("alice")
	if n := s.RefreshTokens(u.UUID); n != 1 {
		t.Errorf("refresh tokens = %d, want 1", n)
	}
	if s.Sessions(u.UUID) != 1 {
		t.Errorf("sessions = %d, want 1", s.Sessions(u.UUID))
	}
}

func TestValidateRevokeAndRouting(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Config{PathPrefix: "/api/auth/"})
	if !strings.HasSuffix(s.URL, "/api/auth/0.1") {
		t.Fatalf("URL %s", s.URL)
	}
	tok := data(do(t, s, "POST", "/token", alice, `{"expiration":10}`, nil))["token"].(string)
	if r := do(t, s, "GET", "/token/"+strings.ToUpper(tok), "", "", nil); r.status != 200 || data(r)["refresh_token"] != nil {
		t.Errorf("GET upper-case uuid: %d", r.status)
	}
	if r := do(t, s, "HEAD", "/token/"+tok, "", "", nil); r.status != 204 || r.raw != "" {
		t.Errorf("HEAD: %d %q", r.status, r.raw)
	}
	u, _ := s.User("alice")
	if r := do(t, s, "GET", "/token/"+tok+"?tenant="+NewUUID(), "", "", nil); r.status != 403 {
		t.Errorf("other tenant: %d", r.status)
	}
	if r := do(t, s, "GET", "/token/"+tok+"?tenant="+u.TenantUUID+"&scope=auth.users."+u.UUID+".tokens.read", "", "", nil); r.status != 200 {
		t.Errorf("own tenant, me-scope by uuid: %d %s", r.status, r.raw)
	}
	if r := do(t, s, "GET", "/token/not-a-uuid", "", "", nil); r.status != 404 || r.body["message"] != notFoundURL {
		t.Errorf("non-uuid: %d %s", r.status, r.raw)
	}
	for i := 0; i < 2; i++ {
		r := do(t, s, "DELETE", "/token/"+tok, "", "", nil)
		if r.status != 200 || data(r)["message"] != "success" {
			t.Errorf("DELETE #%d: %d %s", i+1, r.status, r.raw)
		}
	}
	if r := do(t, s, "GET", "/token/"+tok, "", "", nil); r.status != 404 {
		t.Errorf("after delete: %d", r.status)
	}
	tok = data(do(t, s, "POST", "/token", alice, `{"expiration":10}`, nil))["token"].(string)
	clock.Advance(10 * time.Second)
	if r := do(t, s, "GET", "/token/"+tok, "", "", nil); r.status != 404 {
		t.Errorf("expired: %d", r.status)
	}
	if s.Calls(EndpointValidate) != 7 || s.Calls(EndpointRevoke) != 2 || s.Calls(EndpointToken) != 2 {
		t.Errorf("calls: validate %d revoke %d token %d", s.Calls(EndpointValidate), s.Calls(EndpointRevoke), s.Calls(EndpointToken))
	}
	if n := len(s.Requests(EndpointRevoke)); n != 2 {
		t.Errorf("recorded revokes: %d", n)
	}
}

func TestMaxSessionsAndLatin1(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{MaxSessions: 1, Users: []User{{Username: "bob", Password: "pässword"}}})
	latin1 := "bob:p\xe4ssword" // Latin-1 bytes, not UTF-8
	if r := do(t, s, "POST", "/token", latin1, `{}`, nil); r.status != 200 {
		t.Fatalf("latin-1 login: %d %s", r.status, r.raw)
	}
	u, _ := s.User("bob")
	r := do(t, s, "POST", "/token", "bob:pässword", `{}`, nil)
	if reasons, _ := r.body["reason"].([]any); r.status != 429 || len(reasons) != 1 ||
		reasons[0] != "User "+u.UUID+" has exceeded the maximum number of active sessions" {
		t.Errorf("cap: %d %s", r.status, r.raw)
	}
}

func TestFailureInjection(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	s.Fail(EndpointToken, Failure{Status: 502, Times: 2})
	for i := 0; i < 2; i++ {
		if r := do(t, s, "POST", "/token", alice, `{}`, nil); r.status != 502 {
			t.Errorf("#%d: %d", i, r.status)
		}
	}
	if r := do(t, s, "POST", "/token", alice, `{}`, nil); r.status != 200 {
		t.Errorf("after failures: %d", r.status)
	}
	if s.Calls(EndpointToken) != 3 {
		t.Errorf("calls = %d", s.Calls(EndpointToken))
	}
	s.ResetCalls()
	if s.Calls(EndpointToken) != 0 || len(s.Requests("")) != 0 {
		t.Error("ResetCalls did not reset")
	}
}

func TestACLMatching(t *testing.T) {
	t.Parallel()
	const me, sess = "1111-user", "2222-session"
	for _, tc := range []struct {
		acl    []string
		access string
		want   bool
	}{
		{[]string{"confd.users.read"}, "confd.users.read", true},
		{[]string{"confd.users.read"}, "confd.users.readx", false},
		{[]string{"confd.*.read"}, "confd.users.read", true},
		{[]string{"confd.*.read"}, "confd.users.me.read", false},
		{[]string{"confd.#"}, "confd.users.me.read", true},
		{[]string{"confd.#", "!confd.users.read"}, "confd.users.read", false},
		{[]string{"!confd.users.read", "confd.#"}, "confd.users.read", false},
		{[]string{"auth.users.me.tokens.read"}, "auth.users." + me + ".tokens.read", true},
		{[]string{"auth.users.me.tokens.read"}, "auth.users.other.tokens.read", false},
		{[]string{"auth.sessions.my_session.delete"}, "auth.sessions." + sess + ".delete", true},
		{[]string{"a.b(c)+"}, "a.b(c)+", true},
		{[]string{"a.b(c)+"}, "a.bcc", false},
		{nil, "anything", false},
	} {
		if got := aclAllows(tc.acl, tc.access, me, sess); got != tc.want {
			t.Errorf("aclAllows(%v, %q) = %v, want %v", tc.acl, tc.access, got, tc.want)
		}
	}
}

func TestPyFormats(t *testing.T) {
	t.Parallel()
	if got := pyStr("it's"); got != `"it's"` {
		t.Errorf("pyStr = %s", got)
	}
	if got := pyErrors([]fieldError{{"a", "x"}, {"b", "y"}, {"a", "z"}}); got != `{'a': ['x', 'z'], 'b': ['y']}` {
		t.Errorf("pyErrors = %s", got)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if pyISO(at) != "2026-01-02T03:04:05" || utcISO(at) != "2026-01-02T03:04:05.000000" || pyAwareISO(at) != "2026-01-02T03:04:05+00:00" {
		t.Errorf("%s %s %s", pyISO(at), utcISO(at), pyAwareISO(at))
	}
}
