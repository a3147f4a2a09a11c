package oauth2test_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// postToken sends a client_secret_post form request and decodes the reply.
func postToken(t *testing.T, s *oauth2test.Server, u string, p url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().Post(u, "application/x-www-form-urlencoded", strings.NewReader(p.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestCheckTokenRequestRunsBeforeClientAuthentication(t *testing.T) {
	t.Parallel()
	var seen url.Values
	s := oauth2test.NewServer(oauth2test.Config{
		Clients: []oauth2test.Client{{ID: "app", Secret: "secret"}},
		CheckTokenRequest: func(r *http.Request, p url.Values) *oauth2test.Error {
			seen = p
			if !p.Has("client_secret") {
				return &oauth2test.Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: "client_secret is required"}
			}
			return nil
		},
	})
	defer s.Close()
	status, body := postToken(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {"x"}})
	if status != http.StatusBadRequest || body["error_description"] != "client_secret is required" {
		t.Fatalf("missing secret: %d %v, want the hook's 400", status, body)
	}
	if seen.Get("refresh_token") != "x" {
		t.Errorf("hook saw params %v", seen)
	}
	status, body = postToken(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "client_secret": {"secret"}, "refresh_token": {"x"}})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("hook passed: %d %v, want the engine's invalid_grant", status, body)
	}
}

func TestLenientRotation(t *testing.T) {
	t.Parallel()
	for _, lenient := range []bool{false, true} {
		s := oauth2test.NewServer(oauth2test.Config{
			Clients:         []oauth2test.Client{{ID: "app", Secret: "secret"}},
			LenientRotation: lenient,
		})
		defer s.Close()
		first := s.IssueToken("app", oauth2test.User{Subject: "u"}, nil)
		refresh := func(rt string) (int, map[string]any) {
			return postToken(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "client_secret": {"secret"}, "refresh_token": {rt}})
		}
		status, second := refresh(first.RefreshToken)
		if status != http.StatusOK || second["refresh_token"] == first.RefreshToken {
			t.Fatalf("lenient=%v: first refresh %d %v, want a rotated token set", lenient, status, second)
		}
		// The reply to the first refresh was "lost": the client retries
		// with the old refresh token.
		status, third := refresh(first.RefreshToken)
		if lenient != (status == http.StatusOK) {
			t.Fatalf("lenient=%v: retry with the rotated-out token = %d %v", lenient, status, third)
		}
		if _, ok := s.LookupRefreshToken(first.RefreshToken); ok != lenient {
			t.Errorf("lenient=%v: LookupRefreshToken(old) = %v", lenient, ok)
		}
		if !lenient {
			continue
		}
		// Using the old access token changes nothing; using a newer one
		// retires the old refresh token.
		if _, ok := s.LookupAccessToken(first.AccessToken); !ok {
			t.Fatal("old access token not live")
		}
		if _, ok := s.LookupRefreshToken(first.RefreshToken); !ok {
			t.Fatal("old refresh token retired by the old access token's use")
		}
		if _, ok := s.LookupAccessToken(third["access_token"].(string)); !ok {
			t.Fatal("new access token not live")
		}
		if status, body := refresh(first.RefreshToken); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("old refresh token after the new access token's use: %d %v, want invalid_grant", status, body)
		}
		if status, _ := refresh(third["refresh_token"].(string)); status != http.StatusOK {
			t.Errorf("newest refresh token refused: %d", status)
		}
	}
}
