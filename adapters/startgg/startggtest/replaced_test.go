package startggtest_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/startgg/startggtest"
)

// TestReplacedPresentations: after a refresh, presenting the access token
// it replaced to the GraphQL API is counted; the new one is not.
func TestReplacedPresentations(t *testing.T) {
	t.Parallel()
	s := newServer(t, startggtest.Config{})
	tok := s.IssueUserToken(123456, "user.identity")
	status, _, reply := post(t, s, startggtest.RefreshPath, refreshBody(tok.RefreshToken), nil)
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, reply)
	}
	const q = "query Q { currentUser { id } }"
	if status, _ := gql(t, s, reply["access_token"].(string), q); status != 200 || s.ReplacedPresentations() != 0 {
		t.Fatalf("new token: %d, count %d", status, s.ReplacedPresentations())
	}
	gql(t, s, tok.AccessToken, q)
	if n := s.ReplacedPresentations(); n != 1 {
		t.Fatalf("replaced token presented: count %d, want 1", n)
	}
}
