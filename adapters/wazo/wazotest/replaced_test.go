package wazotest

import (
	"testing"
)

// TestReplacedPresentations: wazo-auth keeps a token valid after the same
// refresh token issued a newer one; presenting the older one is counted
// (X-Auth-Token and the validation path alike), the newer one is not.
func TestReplacedPresentations(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	login := data(do(t, s, "POST", "/token", alice, `{"access_type":"offline","client_id":"app-a","expiration":8}`, nil))
	oldTok, rt := login["token"].(string), login["refresh_token"].(string)
	fresh := data(do(t, s, "POST", "/token", "", `{"refresh_token":"`+rt+`","client_id":"app-a","expiration":8}`, nil))
	newTok, _ := fresh["token"].(string)
	if newTok == "" || newTok == oldTok {
		t.Fatalf("refresh: %v", fresh)
	}
	cases := []struct {
		name       string
		method     string // given
		path       string
		token      string // X-Auth-Token
		wantStatus int    // expect
		wantCount  int
	}{
		{"new token on the API", "GET", "/users/me/tokens", newTok, 200, 0},
		{"new token validated", "GET", "/token/" + newTok, "", 200, 0},
		{"replaced token on the API (still valid)", "GET", "/users/me/tokens", oldTok, 200, 1},
		{"replaced token validated", "HEAD", "/token/" + oldTok, "", 204, 2},
	}
	for _, tc := range cases { // sequential: the count accumulates
		hdr := map[string]string{}
		if tc.token != "" {
			hdr["X-Auth-Token"] = tc.token
		}
		if r := do(t, s, tc.method, tc.path, "", "", hdr); r.status != tc.wantStatus {
			t.Errorf("%s: HTTP %d, want %d", tc.name, r.status, tc.wantStatus)
		}
		if got := s.ReplacedPresentations(); got != tc.wantCount {
			t.Errorf("%s: ReplacedPresentations = %d, want %d", tc.name, got, tc.wantCount)
		}
	}
}
