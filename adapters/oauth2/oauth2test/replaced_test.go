package oauth2test_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// TestReplacedPresentations: once a refresh issued a newer access token,
// presenting the older one is counted, whether the server still accepts
// it (the default, RFC 6749) or deleted it (RevokeAccessOnRefresh).
func TestReplacedPresentations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		revoke bool // given
		status int  // expect for the replaced token
	}{
		{"replaced token still valid", false, http.StatusOK},
		{"replaced token revoked", true, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, oauth2test.Config{RevokeAccessOnRefresh: tc.revoke})
			first := s.IssueToken(clientID, oauth2test.User{Subject: "u1"}, []string{"read"})
			other := s.IssueToken(clientID, oauth2test.User{Subject: "u2"}, []string{"read"}) // another grant
			r := post(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}, true)
			if r.status != 200 {
				t.Fatalf("refresh: %s", r.raw)
			}
			userinfo := func(tok string) int {
				req, _ := http.NewRequest(http.MethodGet, s.UserInfoURL(), nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				return do(t, s, req).status
			}
			if st := userinfo(r.body["access_token"].(string)); st != 200 || s.ReplacedPresentations() != 0 {
				t.Fatalf("new token: %d, count %d", st, s.ReplacedPresentations())
			}
			if st := userinfo(other.AccessToken); st != 200 || s.ReplacedPresentations() != 0 {
				t.Fatalf("another grant's token: %d, count %d", st, s.ReplacedPresentations())
			}
			if st := userinfo(first.AccessToken); st != tc.status || s.ReplacedPresentations() != 1 {
				t.Fatalf("replaced token: %d (want %d), count %d (want 1)", st, tc.status, s.ReplacedPresentations())
			}
		})
	}
}
