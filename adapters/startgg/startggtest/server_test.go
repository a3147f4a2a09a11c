package startggtest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg/startggtest"
)

const (
	redirect = "https://app.example/cb"
	verifier = "dBjftJeZ4CVP-mJ92K9cQ3g5yY3eL0C8S9gQ6kAbCdE"
)

func newServer(t *testing.T, cfg startggtest.Config) *startggtest.Server {
	t.Helper()
	cfg.RedirectURIs = []string{redirect}
	s := startggtest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// authorize gets a code for scope (PKCE with verifier).
func authorize(t *testing.T, s *startggtest.Server, scope string, extra url.Values) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {startggtest.DefaultClientID}, "redirect_uri": {redirect},
		"scope": {scope}, "state": {"st"}, "code_challenge": {oauth2test.S256(verifier)}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	code, state, err := s.AuthorizeCode(context.Background(), s.AuthorizeURL()+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if state != "st" {
		t.Fatalf("state = %q", state)
	}
	return code
}

// post sends body (a JSON string, or form values) and decodes the reply.
func post(t *testing.T, s *startggtest.Server, path string, body any, header http.Header) (int, http.Header, map[string]any) {
	t.Helper()
	var rdr *strings.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case string:
		rdr = strings.NewReader(b)
	case url.Values:
		rdr, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, _ := json.Marshal(b)
		rdr = strings.NewReader(string(raw))
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, rdr)
	req.Header.Set("Content-Type", ctype)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

func exchangeBody(code string) map[string]any {
	return map[string]any{"grant_type": "authorization_code", "client_id": startggtest.DefaultClientID,
		"client_secret": startggtest.DefaultClientSecret, "code": code, "scope": "user.identity",
		"redirect_uri": redirect, "code_verifier": verifier}
}

func refreshBody(rt string) map[string]any {
	return map[string]any{"grant_type": "refresh_token", "refresh_token": rt, "scope": "user.identity",
		"client_id": startggtest.DefaultClientID, "client_secret": startggtest.DefaultClientSecret, "redirect_uri": redirect}
}

func TestTokenReplyShape(t *testing.T) {
	t.Parallel()
	s := newServer(t, startggtest.Config{})
	status, _, reply := post(t, s, startggtest.TokenPath, exchangeBody(authorize(t, s, "user.identity", nil)), nil)
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, reply)
	}
	keys := make([]string, 0, len(reply))
	for k := range reply {
		keys = append(keys, k)
	}
	if len(reply) != 4 || reply["token_type"] != "Bearer" || reply["expires_in"] != float64(604800) ||
		reply["access_token"] == "" || reply["refresh_token"] == "" {
		t.Errorf("reply = %v (keys %v), want exactly access_token, token_type Bearer, expires_in 604800, refresh_token", reply, keys)
	}
}

func TestTokenRequiresAllSixFields(t *testing.T) {
	t.Parallel()
	for _, grant := range []string{"authorization_code", "refresh_token"} {
		var fields []string
		if grant == "authorization_code" {
			fields = []string{"grant_type", "client_id", "client_secret", "code", "scope", "redirect_uri"}
		} else {
			fields = []string{"grant_type", "refresh_token", "scope", "client_id", "client_secret", "redirect_uri"}
		}
		for _, missing := range fields {
			t.Run(grant+"/"+missing, func(t *testing.T) {
				t.Parallel()
				s := newServer(t, startggtest.Config{})
				path, body := startggtest.TokenPath, exchangeBody("some-code")
				if grant == "refresh_token" {
					tok := s.IssueUserToken(123456, "user.identity")
					path, body = startggtest.RefreshPath, refreshBody(tok.RefreshToken)
				}
				delete(body, missing)
				status, hdr, reply := post(t, s, path, body, nil)
				msg, _ := reply["message"].(string)
				if status != http.StatusBadRequest || reply["success"] != false || !strings.Contains(msg, missing) {
					t.Errorf("without %s: %d %v, want 400 {success:false, message naming it}", missing, status, reply)
				}
				if hdr.Get("WWW-Authenticate") != "" {
					t.Errorf("400 carries WWW-Authenticate")
				}
			})
		}
	}
}

func TestTokenAcceptsFormAndNumericClientID(t *testing.T) {
	t.Parallel()
	s := newServer(t, startggtest.Config{ClientID: "4242"})
	// JSON with client_id as a number.
	q := url.Values{"response_type": {"code"}, "client_id": {"4242"}, "redirect_uri": {redirect}, "scope": {"user.identity"},
		"state": {"st"}, "code_challenge": {oauth2test.S256(verifier)}, "code_challenge_method": {"S256"}}
	code, _, err := s.AuthorizeCode(context.Background(), s.AuthorizeURL()+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"grant_type":"authorization_code","client_id":4242,"client_secret":"` + startggtest.DefaultClientSecret +
		`","code":"` + code + `","scope":"user.identity","redirect_uri":"` + redirect + `","code_verifier":"` + verifier + `"}`
	status, _, reply := post(t, s, startggtest.TokenPath, raw, nil)
	if status != http.StatusOK {
		t.Fatalf("JSON with numeric client_id: %d %v", status, reply)
	}
	// Form-encoded refresh.
	form := url.Values{}
	for k, v := range refreshBody(reply["refresh_token"].(string)) {
		form.Set(k, v.(string))
	}
	form.Set("client_id", "4242")
	if status, _, reply := post(t, s, startggtest.RefreshPath, form, nil); status != http.StatusOK {
		t.Errorf("form refresh: %d %v", status, reply)
	}
}

func TestErrorsAreSuccessFalseEnvelopes(t *testing.T) {
	t.Parallel()
	s := newServer(t, startggtest.Config{})
	tok := s.IssueUserToken(123456, "user.identity")
	wrongSecret := refreshBody(tok.RefreshToken)
	wrongSecret["client_secret"] = "nope"
	badRedirect := exchangeBody(authorize(t, s, "user.identity", nil))
	badRedirect["redirect_uri"] = "https://evil.example/cb"
	tests := []struct {
		name string
		path string
		body any
	}{
		{"unknown code", startggtest.TokenPath, exchangeBody("no-such-code")},
		{"bad secret", startggtest.RefreshPath, wrongSecret},
		{"redirect mismatch", startggtest.TokenPath, badRedirect},
		{"unknown refresh token", startggtest.RefreshPath, refreshBody("no-such-token")},
		{"refresh on the token URL", startggtest.TokenPath, refreshBody(tok.RefreshToken)},
		{"code on the refresh URL", startggtest.RefreshPath, exchangeBody("c")},
		{"malformed JSON", startggtest.TokenPath, `{"grant_type":`},
	}
	for _, tt := range tests {
		status, hdr, reply := post(t, s, tt.path, tt.body, nil)
		msg, _ := reply["message"].(string)
		if status != http.StatusBadRequest || reply["success"] != false || msg == "" || len(reply) != 2 {
			t.Errorf("%s: %d %v, want 400 {success:false,message}", tt.name, status, reply)
		}
		if _, ok := reply["error"]; ok || hdr.Get("WWW-Authenticate") != "" {
			t.Errorf("%s: RFC 6749 error shape leaked: %v %v", tt.name, reply, hdr)
		}
	}
}

func TestAuthorizeRecordsClientSecretWarning(t *testing.T) {
	t.Parallel()
	s := newServer(t, startggtest.Config{})
	authorize(t, s, "user.identity", nil)
	if w := s.Warnings(); len(w) != 0 {
		t.Fatalf("warnings for a clean request: %v", w)
	}
	// As start.gg's sample code does.
	authorize(t, s, "user.identity", url.Values{"client_secret": {startggtest.DefaultClientSecret}})
	w := s.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "client_secret") {
		t.Errorf("warnings = %v, want one about client_secret", w)
	}
	for _, msg := range w {
		if strings.Contains(msg, startggtest.DefaultClientSecret) {
			t.Errorf("warning %q repeats the secret", msg)
		}
	}
}

func TestAuthorizeRefusesUnpublishedScopes(t *testing.T) {
	t.Parallel()
	s := newServer(t, startggtest.Config{})
	q := url.Values{"response_type": {"code"}, "client_id": {startggtest.DefaultClientID}, "redirect_uri": {redirect},
		"scope": {"user.identity admin"}, "state": {"st"}}
	loc, err := s.Authorize(context.Background(), s.AuthorizeURL()+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if loc.Query().Get("error") != "invalid_scope" || loc.Query().Get("state") != "st" {
		t.Errorf("redirect = %s, want error=invalid_scope with state", loc)
	}
}

// gql sends a GraphQL POST with token (none when empty).
func gql(t *testing.T, s *startggtest.Server, token, query string) (int, map[string]any) {
	t.Helper()
	var h http.Header
	if token != "" {
		h = http.Header{"Authorization": {"Bearer " + token}}
	}
	status, _, reply := post(t, s, startggtest.GraphQLPath, map[string]any{"query": query, "operationName": "Q"}, h)
	return status, reply
}

func TestGraphQLCurrentUser(t *testing.T) {
	t.Parallel()
	const full = `query Q { currentUser { id slug name discriminator player { id gamerTag prefix } } }`
	tests := []struct {
		name      string
		cfg       startggtest.Config
		scopes    []string
		query     string
		want      string // JSON of the whole reply
		wantCalls int
	}{
		{"numeric ids", startggtest.Config{}, []string{"user.identity"}, full,
			`{"data":{"currentUser":{"id":123456,"slug":"user/1a2d1e8d","name":"Player 123456","discriminator":"1a2d1e8d","player":{"id":124456,"gamerTag":"Tag123456","prefix":null}}}}`, 1},
		{"string ids", startggtest.Config{StringIDs: true}, []string{"user.identity"}, `{ currentUser { id player { id } } }`,
			`{"data":{"currentUser":{"id":"123456","player":{"id":"124456"}}}}`, 1},
		{"email with user.email", startggtest.Config{}, []string{"user.identity", "user.email"}, `query { currentUser { id email } }`,
			`{"data":{"currentUser":{"id":123456,"email":"player123456@example.test"}}}`, 1},
		{"email without user.email", startggtest.Config{}, []string{"user.identity"}, `query { currentUser { id email } }`,
			`{"data":{"currentUser":null},"errors":[{"message":"Missing required scope: user.email"}]}`, 1},
		{"no user.identity", startggtest.Config{}, []string{"tournament.reporter"}, `{ currentUser { id } }`,
			`{"data":{"currentUser":null},"errors":[{"message":"Missing required scope: user.identity"}]}`, 1},
		{"alias and comment", startggtest.Config{}, []string{"user.identity"}, "# who\nquery Q($x: Int = 1) { me: currentUser { uid: id } }",
			`{"data":{"me":{"uid":123456}}}`, 1},
		{"unknown field", startggtest.Config{}, []string{"user.identity"}, `{ currentUser { id password } }`,
			`{"errors":[{"message":"Cannot query field \"password\" on type \"User\"."}]}`, 1},
		{"other query", startggtest.Config{}, []string{"user.identity"}, `{ tournament(slug: "evo") { id } }`,
			`{"errors":[{"message":"startggtest: only the currentUser query is supported, not \"tournament\""}]}`, 1},
		{"syntax error", startggtest.Config{}, []string{"user.identity"}, `{ currentUser { id `,
			`{"errors":[{"message":"Syntax Error: unexpected end of query"}]}`, 1},
		{"mutation", startggtest.Config{}, []string{"user.identity"}, `mutation { x }`,
			`{"errors":[{"message":"startggtest: only queries are supported"}]}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tt.cfg)
			tok := s.IssueUserToken(123456, tt.scopes...)
			status, reply := gql(t, s, tok.AccessToken, tt.query)
			var want map[string]any
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if status != http.StatusOK || !reflect.DeepEqual(reply, want) {
				got, _ := json.Marshal(reply)
				t.Errorf("got %d %s\nwant 200 %s", status, got, tt.want)
			}
			if n := s.Calls(startggtest.EndpointGraphQL); n != tt.wantCalls {
				t.Errorf("calls = %d", n)
			}
		})
	}
}

func TestGraphQLNeedsALiveBearerToken(t *testing.T) {
	t.Parallel()
	clock := oauth2test.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newServer(t, startggtest.Config{Now: clock.Now})
	tok := s.IssueUserToken(123456, "user.identity")
	want := map[string]any{"success": false, "message": "Invalid authentication token"}
	for name, token := range map[string]string{"none": "", "unknown": "forged", "refresh token": tok.RefreshToken} {
		status, reply := gql(t, s, token, `{ currentUser { id } }`)
		if status != http.StatusUnauthorized || !reflect.DeepEqual(reply, want) {
			t.Errorf("%s: %d %v, want 401 %v", name, status, reply, want)
		}
	}
	if status, _ := gql(t, s, tok.AccessToken, `{ currentUser { id } }`); status != http.StatusOK {
		t.Errorf("live token: %d", status)
	}
	clock.Advance(startggtest.DefaultAccessTTL)
	if status, reply := gql(t, s, tok.AccessToken, `{ currentUser { id } }`); status != http.StatusUnauthorized {
		t.Errorf("after 7 days: %d %v, want 401", status, reply)
	}
	// GET works too, with the query in the URL (the token stays a header).
	tok = s.IssueUserToken(123456, "user.identity")
	req, _ := http.NewRequest(http.MethodGet, s.GraphQLURL()+"?query="+url.QueryEscape(`{ currentUser { id } }`), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, startggtest.Config{})
	tok := s.IssueUserToken(123456, "user.identity")
	s.RateLimit(startggtest.EndpointGraphQL, 2)
	for i := range 3 {
		status, _, reply := post(t, s, startggtest.GraphQLPath, map[string]any{"query": "{ currentUser { id } }"},
			http.Header{"Authorization": {"Bearer " + tok.AccessToken}})
		if i < 2 && (status != http.StatusTooManyRequests || reply["message"] != startggtest.RateLimitMessage || reply["success"] != false) {
			t.Errorf("call %d: %d %v, want 429 rate limit", i, status, reply)
		}
		if i == 2 && status != http.StatusOK {
			t.Errorf("call after the limit: %d %v", status, reply)
		}
	}
	s.RateLimit(oauth2test.EndpointRefresh, 1)
	status, hdr, _ := post(t, s, startggtest.RefreshPath, refreshBody(tok.RefreshToken), nil)
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != "60" {
		t.Errorf("rate-limited refresh: %d Retry-After %q", status, hdr.Get("Retry-After"))
	}
	if _, ok := s.LookupRefreshToken(tok.RefreshToken); !ok {
		t.Error("a rate-limited refresh consumed the refresh token")
	}
}

func TestConfigDefaultsDoNotTouchCallerUsers(t *testing.T) {
	t.Parallel()
	users := []startggtest.User{{ID: 7, Name: "Seven"}, {}}
	s := newServer(t, startggtest.Config{Users: users})
	if users[0].Slug != "" || users[1].ID != 0 {
		t.Errorf("NewServer modified the caller's Users: %+v", users)
	}
	got := s.Config().Users
	if got[0].ID != 7 || got[0].Name != "Seven" || got[0].Slug == "" || got[1].ID != 123457 {
		t.Errorf("Config().Users = %+v", got)
	}
	if u, ok := s.User(7); !ok || u.GamerTag != "Tag7" {
		t.Errorf("User(7) = %+v, %v", u, ok)
	}
	// login_hint picks the second user.
	code := authorize(t, s, "user.identity", url.Values{"login_hint": {"123457"}})
	_, _, reply := post(t, s, startggtest.TokenPath, exchangeBody(code), nil)
	at, _ := reply["access_token"].(string)
	if info, ok := s.LookupAccessToken(at); !ok || info.User.Subject != "123457" {
		t.Errorf("login_hint user: %+v %v", info, ok)
	}
}
