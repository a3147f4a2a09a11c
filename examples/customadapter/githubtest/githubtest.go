// Package githubtest is a fake GitHub-style OAuth upstream for the custom
// adapter's tests, made from the generic fake in adapters/oauth2/oauth2test
// by configuration: GitHub's paths, its token reply shape (token_type
// "bearer", scope as a comma-separated string), GET /user and
// DELETE /applications/{client_id}/grant. It imports only the standard
// library and oauth2test, never the adapter it fakes.
package githubtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// The fake's account.
const (
	UserID    = 583231
	UserLogin = "octocat"
	UserEmail = "octocat@example.test"
)

// Config configures the fake.
type Config struct {
	// ClientID and ClientSecret are the registered OAuth app. Required.
	ClientID, ClientSecret string
	// RedirectURIs are the app's registered callbacks. Required.
	RedirectURIs []string
}

// NewServer starts the fake on a random 127.0.0.1 port. Use its URL as
// both the adapter's BaseURL and APIURL; the caller must Close it.
func NewServer(cfg Config) *oauth2test.Server {
	s := oauth2test.NewUnstartedServer(oauth2test.Config{
		Clients: []oauth2test.Client{{ID: cfg.ClientID, Secret: cfg.ClientSecret, RedirectURIs: cfg.RedirectURIs}},
		Users: []oauth2test.User{{Subject: strconv.Itoa(UserID), Email: UserEmail,
			Claims: map[string]any{"login": UserLogin, "avatar_url": "https://avatars.example/u/583231"}}},
		Paths:       oauth2test.Paths{Authorize: "/login/oauth/authorize", Token: "/login/oauth/access_token", UserInfo: "-", Revoke: "-"},
		Encodings:   oauth2test.EncodingForm | oauth2test.EncodingJSON,
		RequirePKCE: true,
		RenderToken: func(w http.ResponseWriter, _ *http.Request, reply *oauth2test.TokenReply) {
			f := reply.Fields()
			f["token_type"] = "bearer"
			f["scope"] = strings.Join(reply.Scopes, ",")
			oauth2test.WriteJSON(w, http.StatusOK, f)
		},
	})
	s.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		info, ok := s.BearerToken(r)
		if !ok {
			oauth2test.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
			return
		}
		id, _ := strconv.ParseInt(info.User.Subject, 10, 64)
		oauth2test.WriteJSON(w, http.StatusOK, map[string]any{
			"id": id, "login": info.User.Claims["login"], "name": nil, "email": info.User.Email,
			"avatar_url": info.User.Claims["avatar_url"], "html_url": "https://github.example/" + UserLogin,
		})
	})
	s.HandleFunc("DELETE /applications/{client_id}/grant", func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != r.PathValue("client_id") || user != cfg.ClientID || pass != cfg.ClientSecret {
			oauth2test.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "Requires authentication"})
			return
		}
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body) != nil || body.AccessToken == "" {
			oauth2test.WriteJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Invalid request"})
			return
		}
		if !s.RevokeToken(body.AccessToken) {
			oauth2test.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s.Start()
	return s
}
