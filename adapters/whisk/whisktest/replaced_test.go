package whisktest_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/whisk/whisktest"
)

// TestReplacedAccessTokenRejectedAndCounted: a refresh deletes the access
// token it replaces (as Whisk does): presenting it again gets the
// documented 401 auth.tokenNotFound and is counted; presentations of the
// current token are not, and one request counts once.
func TestReplacedAccessTokenRejectedAndCounted(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	_, first := post(t, s, form, codeParams(code(t, s, nil)))
	oldAT, oldRT := first["access_token"].(string), first["refresh_token"].(string)
	if status, _ := me(t, s, "Bearer "+oldAT); status != 200 || s.ReplacedPresentations() != 0 {
		t.Fatalf("fresh token: %d, replaced presentations %d", status, s.ReplacedPresentations())
	}
	status, second := post(t, s, form, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oldRT},
		"client_id": {whisktest.DefaultClientID}, "client_secret": {whisktest.DefaultClientSecret}})
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, second)
	}
	newAT := second["access_token"].(string)
	cases := []struct {
		name       string
		authz      string // given
		wantStatus int    // expect
		wantCode   string
		wantCount  int
	}{
		{"current token", "Bearer " + newAT, 200, "", 0},
		{"replaced token", "Bearer " + oldAT, 401, whisktest.CodeTokenNotFound, 1},
		{"replaced token again", "bearer " + oldAT, 401, whisktest.CodeTokenNotFound, 2},
		{"current token after", "Bearer " + newAT, 200, "", 2},
	}
	for _, tc := range cases { // sequential: the count accumulates
		status, body := me(t, s, tc.authz)
		if status != tc.wantStatus || (tc.wantCode != "" && body["code"] != tc.wantCode) {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, body, tc.wantStatus, tc.wantCode)
		}
		if got := s.ReplacedPresentations(); got != tc.wantCount {
			t.Errorf("%s: ReplacedPresentations = %d, want %d", tc.name, got, tc.wantCount)
		}
	}
	s.ResetCalls()
	if s.ReplacedPresentations() != 0 {
		t.Error("ResetCalls kept the replaced-token count")
	}
}
